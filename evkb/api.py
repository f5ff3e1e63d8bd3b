"""The one API the CLI (and later the web service) adapts: no business logic here,
only wiring of ingest, kb and engine."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kb import store
from kb.schema import KnowledgeBase, kb_to_json


def build(
    paths: Sequence[Path], kb_path: Path, progress: Callable[[str], None] | None = None
) -> KnowledgeBase:
    """Compile manuals into ``kb_path``. On any error nothing is written and the
    previous knowledge base stays as it was."""
    from ingest.pipeline import check_unique_ids, compile_paths

    kb = compile_paths(paths, progress=progress)
    check_unique_ids(kb)
    store.save(kb, kb_path)
    return kb


def load(kb_path: Path) -> KnowledgeBase:
    return store.load(kb_path)


def export(kb: KnowledgeBase) -> dict[str, Any]:
    return kb_to_json(kb)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


# ------------------------------------------------------------------ diagnosis

_DIAGNOSERS: dict[int, Any] = {}


def diagnoser(kb: KnowledgeBase) -> Any:
    """One Diagnoser per loaded knowledge base: engines are built once, reset per query."""
    from engine.diagnose import Diagnoser

    d = _DIAGNOSERS.get(id(kb))
    if d is None or d.kb is not kb:
        d = Diagnoser(kb)
        _DIAGNOSERS.clear()
        _DIAGNOSERS[id(kb)] = d
    return d


def diagnose(
    kb: KnowledgeBase, text: str, error: str | None = None, model: str | None = None
) -> Any:
    return diagnoser(kb).diagnose(text, error=error, model=model)


def diagnosis_json(d: Any) -> dict[str, Any]:
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
                "evidence": [
                    {
                        "kind": e.kind,
                        "polarity": e.polarity,
                        "observation": e.observation,
                        "matched": e.matched,
                        "weight": e.weight,
                        "source": f"{e.path}:{e.line}",
                    }
                    for e in rc.evidence
                ],
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
            }
            for q in plan.questions
        ]
        out["minutes"] = plan.minutes
        out["expected_minutes"] = round(plan.expected_minutes, 1)
    if d.message:
        out["message"] = d.message
        out["suggestions"] = list(d.suggestions)
    return out


def why_not_text(why: dict[str, Any]) -> str:
    if "error" in why:
        return str(why["error"])
    lines = [
        f"{why['cause']}: ranked {why['rank']} at {why['confidence']:.0%} (prior: {why['prior']})"
    ]
    for e in why["for"]:
        lines.append(
            f'  + {e["kind"]}: "{e["observation"]}" ~ "{e["matched"]}" [{e["path"]}:{e["line"]}]'
        )
    for e in why["against"]:
        lines.append(
            f'  - {e["kind"]}: "{e["observation"]}" ~ "{e["matched"]}" [{e["path"]}:{e["line"]}]'
        )
    if why["not_observed"]:
        lines.append("  not observed (would support it):")
        for m in why["not_observed"]:
            lines.append(f"    . {m['text']}  [{m['source']}]")
    return "\n".join(lines)
