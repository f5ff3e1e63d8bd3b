"""The one API the CLI (and later the web service) adapts: no business logic here,
only wiring of ingest, kb and engine."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb import store
from kb.errors import KBError
from kb.schema import KnowledgeBase, kb_to_json

if TYPE_CHECKING:
    from engine.diagnose import Diagnoser, Diagnosis, History, WhyNot
    from engine.lookup import Lookup
    from engine.records import EvidenceItem
    from engine.simulate import FaultModel, SimResult
    from engine.views import WorkOrderView
    from kb.schema import Cause, Source


def build(
    paths: Sequence[Path], kb_path: Path, progress: Callable[[str], None] | None = None
) -> KnowledgeBase:
    """Compile manuals into ``kb_path``. On any error nothing is written and the
    previous knowledge base stays as it was."""
    from ingest.pipeline import check_unique_ids, compile_paths

    kb = compile_paths(paths, progress=progress)
    check_unique_ids(kb)
    remove_stale_temp_files(kb_path)
    store.save(kb, kb_path)
    return kb


STALE_TEMP_S = 3600.0  # an ingest's temp file this old belongs to one that crashed


def remove_stale_temp_files(kb_path: Path, age: float = STALE_TEMP_S) -> list[Path]:
    """Remove the temp files (``.NAME.*.tmp``, kb.store.save's) that crashed ingests
    left beside ``kb_path``; files younger than ``age`` seconds may belong to an
    ingest still running and stay."""
    import time

    removed = []
    cutoff = time.time() - age
    try:
        candidates = list(kb_path.parent.glob(f".{kb_path.name}.*.tmp"))
    except OSError:
        return []
    for f in candidates:
        try:
            if f.is_file() and f.stat().st_mtime < cutoff:
                f.unlink()
                removed.append(f)
        except OSError:
            continue
    return removed


def load(kb_path: Path) -> KnowledgeBase:
    return store.load(kb_path)


def export(kb: KnowledgeBase) -> dict[str, Any]:
    return kb_to_json(kb)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


# ------------------------------------------------------------------ diagnosis


class _Loaded:
    """The engines of the knowledge base in use: one Diagnoser (its engines built
    once, reset per query) and, on first use, its Lookup. Only the latest knowledge
    base is kept; the record holds the knowledge base itself, so a new one loaded at
    the same address is never mistaken for it."""

    def __init__(self, kb: KnowledgeBase, d: Diagnoser) -> None:
        self.kb = kb
        self.diagnoser = d
        self.lookup: Lookup | None = None


_LOADED: list[_Loaded] = []
_LOADING = threading.Lock()


def _loaded(kb: KnowledgeBase) -> _Loaded:
    with _LOADING:
        if _LOADED and _LOADED[0].kb is kb:
            return _LOADED[0]
        from engine.diagnose import Diagnoser

        entry = _Loaded(kb, Diagnoser(kb))
        _LOADED[:] = [entry]
        return entry


def diagnoser(kb: KnowledgeBase) -> Diagnoser:
    """One Diagnoser per loaded knowledge base: engines are built once, reset per query."""
    return _loaded(kb).diagnoser


def diagnose(
    kb: KnowledgeBase,
    text: str,
    error: str | None = None,
    model: str | None = None,
    *,
    answers: Sequence[tuple[str, str]] = (),
    history: History | None = None,
) -> Diagnosis:
    """Ranked causes and the minimal procedure; ``answers`` reply to earlier
    questions, ``history`` is the repair history of closed work orders
    (``orders.Store.history()``)."""
    return diagnoser(kb).diagnose(text, error=error, model=model, answers=answers, history=history)


def lookup(kb: KnowledgeBase) -> Lookup:
    """Symptom, error-code and part queries over ``kb`` (engine/lookup.py)."""
    entry = _loaded(kb)
    if entry.lookup is None:
        from engine.lookup import Lookup

        d = entry.diagnoser
        entry.lookup = Lookup(kb, d.planner, d.lexicon)
    return entry.lookup


def source_json(s: Source) -> dict[str, Any]:
    return {"path": s.path, "line_start": s.line_start, "line_end": s.line_end}


def cause_json(c: Cause) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "equipment": c.equipment,
        "error_codes": list(c.error_codes),
        "prior": c.prior,
        "prior_basis": c.prior_basis,
        "source": source_json(c.source),
    }


def symptoms_json(kb: KnowledgeBase, q: str, limit: int = 8) -> list[dict[str, Any]]:
    titles = {c.id: c.title for c in kb.causes}
    return [
        {
            "text": h.text,
            "equipment": h.equipment,
            "score": h.score,
            "causes": [{"id": c, "title": titles[c]} for c in h.causes],
            "source": source_json(h.source),
        }
        for h in lookup(kb).symptoms(q, limit)
    ]


def error_code_json(kb: KnowledgeBase, code: str) -> dict[str, Any] | None:
    info = lookup(kb).code(code)
    if info is None:
        return None
    return {
        "code": info.code,
        "means": list(info.means),
        "equipment": sorted({e.equipment for e in info.error_codes}),
        "triggers": [
            {"code": e.code, "conditions": list(e.conditions), "source": source_json(e.source)}
            for e in info.error_codes
        ],
        "causes": [cause_json(c) for c in info.causes],
    }


def parts_json(kb: KnowledgeBase, q: str = "") -> list[dict[str, Any]]:
    return [
        {
            "id": pi.part.id,
            "name": pi.part.name,
            "specification": pi.part.specification,
            "variants": list(pi.part.variants),
            "variant_basis": pi.part.variant_basis,
            "source": source_json(pi.part.source),
            "fix_steps": list(pi.steps),
            "causes": [cause_json(c) for c in pi.causes],
        }
        for pi in lookup(kb).parts(q)
    ]


def evidence_json(e: EvidenceItem) -> dict[str, Any]:
    """One contribution: its reasoning kind (symptom, reading, normal finding, action
    outcome, stated cue, repair history, error code), what matched and its line."""
    out: dict[str, Any] = {
        "kind": e.kind,
        "reason": e.reason,
        "polarity": e.polarity,
        "observation": e.observation,
        "matched": e.matched,
        "weight": e.weight,
        "source": f"{e.path}:{e.line}",
    }
    if e.similarity is not None:
        out["similarity"] = e.similarity
    return out


def diagnosis_json(d: Diagnosis) -> dict[str, Any]:
    """The diagnose result of DESIGN.md's machine interface."""
    causes = []
    for rc in d.causes:
        sources = [{"path": rc.cause.source.path, "line": rc.cause.source.line_start}]
        for e in rc.evidence:
            s = {"path": e.path, "line": e.line}
            if s not in sources:
                sources.append(s)
        causes.append(
            {
                "id": rc.cause.id,
                "title": rc.cause.title,
                "confidence": round(rc.confidence, 4),
                "evidence": [evidence_json(e) for e in rc.evidence],
                "sources": sources,
            }
        )
    plan = d.plan
    out: dict[str, Any] = {
        "causes": causes,
        "procedure": [],
        "parts": [],
        "tools": [],
        "questions": [],
    }
    if plan is not None:
        out["procedure"] = [
            {
                "id": ps.step.id,
                "title": ps.step.title,
                "minutes": ps.step.minutes,
                "requires_lockout": ps.step.requires_lockout,
                "kind": ps.step.kind,
                "reason": ps.reason,
                "causes": list(ps.causes),
                "source": {"path": ps.step.source.path, "line": ps.step.source.line_start},
            }
            for ps in plan.steps
        ]
        out["parts"] = [
            {
                "name": pn.part.name,
                "variant": pn.variant,
                "variants": list(pn.choices),
                "variant_basis": pn.basis,
                "probability": round(pn.probability, 4),
                "id": pn.part.id,
                "causes": list(pn.causes),
            }
            for pn in plan.parts
        ]
        out["tools"] = [
            {"name": t.name, "specification": t.specification, "id": t.id} for t in plan.tools
        ]
        out["questions"] = [
            {
                "text": q.text,
                "separates": list(q.separates),
                "minutes": q.minutes,
                "source": q.source,
                "kind": q.kind,
                "ref": q.ref,
                "purpose": q.purpose,
                "unit": q.unit,
                "example": q.example,
            }
            for q in plan.questions
        ]
        out["minutes"] = plan.minutes
        out["expected_minutes"] = round(plan.expected_minutes, 1)
    if d.message:
        out["message"] = d.message
        out["suggestions"] = list(d.suggestions)
    if d.warnings:
        out["warnings"] = list(d.warnings)
    return out


def why_not_json(why: WhyNot) -> dict[str, Any]:
    return {
        "cause": why.cause,
        "id": why.id,
        "rank": why.rank,
        "confidence": why.confidence,
        "prior": why.prior,
        "for": [evidence_json(e) for e in why.supporting],
        "against": [evidence_json(e) for e in why.against],
        "not_observed": [
            {"text": u.text, "kind": u.kind, "source": u.source} for u in why.not_observed
        ],
    }


def _evidence_line(sign: str, e: EvidenceItem) -> str:
    how = f"{e.reason}, similarity {e.similarity:.2f}" if e.similarity is not None else e.reason
    return f'  {sign} {how} ({e.kind}): "{e.observation}" ~ "{e.matched}" [{e.path}:{e.line}]'


def why_not_text(why: WhyNot) -> str:
    lines = [f"{why.cause}: ranked {why.rank} at {why.confidence:.0%} (prior: {why.prior})"]
    lines += [_evidence_line("+", e) for e in why.supporting]
    lines += [_evidence_line("-", e) for e in why.against]
    if why.not_observed:
        lines.append("  not observed (would support it):")
        lines += [f"    . {u.text}  [{u.source}]" for u in why.not_observed]
    return "\n".join(lines)


# ------------------------------------------------------------------ work orders


def workorder_context(
    kb: KnowledgeBase,
    d: Diagnosis,
    *,
    text: str,
    error: str | None = None,
    station: str | None = None,
    port: int | None = None,
) -> WorkOrderView:
    """Everything a work order or pick list shows, from one diagnosis."""
    from engine.views import work_order

    return work_order(
        kb,
        diagnosis_json(d),
        text=text,
        error=error or ", ".join(c.code for c in d.observation.error_codes),
        station=station or "",
        port=port if port is not None else d.observation.port,
    )


def render_report(
    kb: KnowledgeBase,
    template: str,
    text: str,
    *,
    error: str | None = None,
    model: str | None = None,
    station: str | None = None,
    port: int | None = None,
) -> str:
    """Diagnose ``text`` and render it with ``template`` (workorder.md.j2,
    workorder.html.j2, picklist.md.j2)."""
    from evkb.render import render

    d = diagnose(kb, text, error, model)
    view = workorder_context(kb, d, text=text, error=error, station=station, port=port)
    return render(template, view.context())


def workorder(kb: KnowledgeBase, text: str, *, fmt: str = "md", **kw: Any) -> str:
    return render_report(kb, f"workorder.{fmt}.j2", text, **kw)


def workorder_pdf(kb: KnowledgeBase, text: str, **kw: Any) -> bytes:
    """The HTML work order as a PDF (needs the ``pdf`` extra)."""
    from evkb.pdf import html_to_pdf

    return html_to_pdf(workorder(kb, text, fmt="html", **kw))


def picklist(kb: KnowledgeBase, text: str, **kw: Any) -> str:
    return render_report(kb, "picklist.md.j2", text, **kw)


def fault_models(kb: KnowledgeBase, visit: float | None = None) -> list[FaultModel]:
    """One fault model per error code of each manual (engine/simulate.py); a visit
    to the station costs ``visit`` minutes (default: what the planner assumes,
    kb/curated/steps.yaml)."""
    from engine.simulate import from_kb

    planner = diagnoser(kb).planner
    return [
        from_kb(
            code,
            (c for c in kb.causes if c.manual == m.id),
            (s for s in kb.steps if s.manual == m.id),
            planner.links,
            planner.visit if visit is None else visit,
        )
        for m in kb.manuals
        for code in m.error_codes
    ]


def simulate(
    kb: KnowledgeBase, trials: int = 0, seed: int = 1, visit: float | None = None
) -> list[SimResult]:
    """Expected repair minutes per error code: the exact optimum, evkb's planner,
    the manual's static order and perfect information; exact sums over the causes,
    or means over ``trials`` sampled faults. ``visit``: minutes a visit to the
    station costs in the fault models (default: what the planner assumes)."""
    from engine import simulate as sim

    planner = diagnoser(kb).planner
    policy = sim.planner_policy(planner if visit is None else planner.with_visit(visit))
    return [
        sim.sampled(m, policy, trials, seed) if trials else sim.simulate(m, policy)
        for m in fault_models(kb, visit)
    ]


# ------------------------------------------------------------------ manuals


def render_manuals(
    kb: KnowledgeBase, out_dir: Path, progress: Callable[[str], None] | None = None
) -> list[Path]:
    """Write one Markdown manual per source manual, same file name, into ``out_dir``.
    Never overwrites a source manual; each file is written atomically."""
    import os
    import tempfile

    from evkb.render import render
    from ingest import sidecar
    from kb.manuals import manual_blocks

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    # the manuals' folder layout below their common folder is kept, so files of the
    # same name in different folders stay apart (and keep their ids when ingested again)
    folders = [Path(m.source.path).resolve().parent for m in kb.manuals]
    common = Path(os.path.commonpath(folders)) if folders else out_dir
    for m, folder in zip(kb.manuals, folders, strict=True):
        target = out_dir / folder.relative_to(common) / Path(m.source.path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.resolve() == Path(m.source.path).resolve():
            raise KBError(
                f"{target}: refusing to overwrite the source manual; render into another directory"
            )
        text = render("manual.md.j2", {"blocks": manual_blocks(kb, m.id)}).lstrip("\n")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
        written.append(target)
        # the knowledge kept beside the manual goes with it
        side = sidecar.path_for(Path(m.source.path))
        if side.is_file():
            copy = sidecar.path_for(target)
            fd, tmp = tempfile.mkstemp(prefix=f".{copy.name}.", dir=target.parent)
            with os.fdopen(fd, "wb") as fb:
                fb.write(side.read_bytes())
            os.replace(tmp, copy)
        if progress:
            progress(f"rendered {target}")
    return written
