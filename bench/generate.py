"""Deterministic generator of synthetic EVSE service manuals.

The manuals follow the seed manuals' Markdown format (``manuals/*.md``): a title
and ``**Key:** value`` metadata block (or YAML front matter for field notes), an
error-code trigger list, a ``Symptom | Probable Cause`` table and/or a
``Cause | Notes`` table with frequency words, safety notes with lockout, a
``Required Tools`` table, ``**Step N.M: Title**`` lines with numbered sub-steps
(some with nested bullets), meter readings with expected ranges and what an
out-of-range value implies, and a numbered verification list.

Every equipment model gets several manuals, one per component, each with its own
error code, so an error code selects one equipment partition as it does for the
seed manuals. A corpus of ``total_causes`` causes is split into manuals of
``min_causes``..``max_causes`` causes each (the table rows); the generator also
writes probe observations (field paraphrases of each cause's symptom, with and
without the error code, and out-of-range meter readings) with the cause each one
should rank first.

    python -m bench.generate OUT_DIR --causes 1000 [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.vocab import (
    BRANDS,
    CLASSES,
    COMPONENTS,
    FREQUENCY_WORDS,
    MODES_BY_KIND,
    PROBE_PREFIXES,
    PROBE_SUFFIXES,
    SERIES_LETTERS,
    ComponentSpec,
    ModeSpec,
    PartSpec,
    ReadingSpec,
)
from kb.schema import slug
from kb.units import POINT_PATTERN

MIN_CAUSES = 5
MAX_CAUSES = 15
FRONT_MATTER_SHARE = 0.1  # share of manuals written as field notes with YAML front matter
_POINT_WORD = re.compile(rf"\b{POINT_PATTERN}\b", re.I)


@dataclass(frozen=True)
class Probe:
    """An observation a technician might type, and the cause it should rank first."""

    text: str
    error: str | None
    cause: str  # expected cause id
    kind: str  # "symptom", "reading" (both with the error code) or "text-only"


@dataclass(frozen=True)
class GenCause:
    id: str
    title: str
    table: str  # "symptom" or "cause": which table row defines it


@dataclass(frozen=True)
class GenManual:
    id: str
    file: str
    equipment: str
    error_code: str
    component: str
    causes: tuple[GenCause, ...]


@dataclass
class Corpus:
    root: Path
    seed: int
    total_causes: int  # causes written as table rows (the intended count)
    manuals: list[GenManual] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)

    @property
    def manual_dir(self) -> Path:
        return self.root / "manuals"

    def to_json(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "total_causes": self.total_causes,
            "manuals": [asdict(m) for m in self.manuals],
            "probes": [asdict(p) for p in self.probes],
        }


def cause_id(manual_id: str, title: str) -> str:
    """The id ingest gives a cause defined by a table row (``IngestState.new_cause``)."""
    bare = re.sub(r"\s*\([^)]*\)", "", title) or title
    return f"{manual_id}/cause/{slug(bare)}"


def split_counts(total: int, rng: random.Random, lo: int, hi: int) -> list[int]:
    """Cause counts per manual, each in lo..hi (a total below lo gives one manual)."""
    out: list[int] = []
    left = total
    while left > 0:
        if left <= hi:
            k = left
        else:
            k = rng.randint(lo, hi)
            if left - k < lo:
                k = max(lo, left - lo)
        out.append(k)
        left -= k
    return out


@dataclass
class _Cause:
    part: PartSpec
    mode: ModeSpec
    title: str
    table: str
    freq: str
    reading: ReadingSpec | None = None

    def fill(self, text: str) -> str:
        return text.format(P=_cap(self.part.name), p=self.part.name, s=self.part.short)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


class _Model:
    def __init__(self, rng: random.Random, used: set[str]) -> None:
        self.brand, self.prefix = rng.choice(BRANDS)
        while True:
            number = rng.randint(1000, 9899)
            series = rng.choice(SERIES_LETTERS) + rng.choice(SERIES_LETTERS)
            name = f"{series}{number}"
            if name not in used:
                used.add(name)
                break
        self.name = name
        self.equipment = f"{self.brand} {name}"
        self.klass = rng.choice(CLASSES)
        self.components = rng.sample(COMPONENTS, k=rng.randint(3, len(COMPONENTS)))
        self.revision = f"{rng.randint(1, 4)}.{rng.randint(0, 9)}"
        self.date = f"20{rng.randint(22, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _pick_causes(comp: ComponentSpec, k: int, rng: random.Random) -> list[_Cause]:
    parts = rng.sample(comp.parts, k=min(k, len(comp.parts)))
    style = rng.choices(["symptom", "cause", "both"], weights=[4, 3, 3])[0]
    out: list[_Cause] = []
    for i, part in enumerate(parts):
        mode = rng.choice(MODES_BY_KIND[part.kind])
        table = style if style != "both" else ("symptom" if i < (k + 1) // 2 else "cause")
        c = _Cause(part, mode, "", table, rng.choice(FREQUENCY_WORDS))
        c.title = re.sub(r"\b(\w+) \1\b", r"\1", c.fill(mode.title))
        out.append(c)
    # the meter readings each point at one electrical/electronic cause (else any cause)
    # (not one whose title names a test point: "L1 power pin" would read as one)
    ok = [c for c in out if not _POINT_WORD.search(c.title)]
    pool = [c for c in ok if c.part.kind in ("elec", "elex")] or ok
    rng.shuffle(pool)
    for reading, cause in zip(comp.readings, pool, strict=False):
        cause.reading = reading
    return out


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("-" * (len(h) + 2) for h in header)]
    lines[1] = "|" + "|".join("-" * (len(h) + 2) for h in header) + "|"
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def render_manual(
    model: _Model, comp: ComponentSpec, causes: list[_Cause], code: str, rng: random.Random
) -> str:
    eq = model.equipment
    lines: list[str] = []
    front = rng.random() < FRONT_MATTER_SHARE
    title = f"{eq} Series {model.klass}"
    if front:
        lines += [
            "---",
            "layout: post",
            f"date: {model.date}",
            f"title: {eq} {comp.category.lower()} field notes",
            "tags:",
            f"- {comp.slug}",
            "- evse",
            "---",
            "",
            f"**Equipment:** {eq}",
            f"**Component Category:** {comp.category}",
            f"**Error Code:** `{code}`",
            "",
        ]
    else:
        lines += [
            f"# {title}",
            "## Document Type: Maintenance & Troubleshooting Manual",
            f"**Component Category:** {comp.category}",
            f"**Target Part:** {comp.target}",
            f"**Expected Error Code:** `{code}`",
            f"**Revision:** {model.revision}",
            f"**Date:** {model.date}",
            "",
            "---",
            "",
        ]
    lines += ["### 1. Symptom & Identification", ""]
    lines += [" ".join(s.format(model=eq) for s in comp.intro), ""]
    with_effect = causes[: min(3, len(causes))]
    lines += [f"**Error `{code}` is triggered when:**"]
    for c in with_effect:
        secs = rng.choice((10, 30, 60, 120))
        lines.append(
            f"- {_cap(comp.signals)} reports that the {c.part.effect} for more than "
            f"{secs} seconds, pointing at the {c.part.name}"
        )
    lines.append("")
    causal = rng.choice(causes)
    lines += [
        f"{_cap(causal.fill(causal.mode.adj))} causes the {causal.part.effect}. "
        f"Only the affected port needs service; the other port remains operational.",
        "",
    ]
    sym = [c for c in causes if c.table == "symptom"]
    cau = [c for c in causes if c.table == "cause"]
    if sym:
        rows = []
        for c in sym:
            tail = c.fill(c.mode.remedy) if rng.random() < 0.5 else c.fill(c.mode.note)
            rows.append(
                [
                    _cap(f"{c.part.effect}, {c.fill(c.mode.detail)}"),
                    f"{c.title} — {tail}",
                ]
            )
        lines += ["**Symptom differentiation:**", ""]
        lines += _table(["Symptom", "Probable Cause"], rows)
        lines.append("")
    if cau:
        rows = []
        for c in cau:
            note = f"{c.fill(c.mode.note)}; {c.part.effect}"
            notes = f"{c.freq} — {note}" if c.freq else _cap(note)
            rows.append([c.title, notes])
        lines += ["**Common causes and their relative frequency:**", ""]
        lines += _table(["Cause", "Notes"], rows)
        lines.append("")
    lines += [
        "### 2. Safety Precautions",
        "",
        "> [!NOTE]",
        f"> The {eq} is a 240VAC Level 2 charger. Opening the cabinet exposes 240VAC power "
        "wiring. **Full LOTO is required before opening the cabinet.**",
        "",
        "**For visual inspection from outside the cabinet:** No LOTO required.",
        f"**For {comp.category.lower()} work inside the cabinet:** LOTO the upstream breaker.",
        "",
        "**PPE:** Safety glasses. "
        + rng.choice(("Insulated gloves.", "ESD awareness (touch chassis first).", "Gloves.")),
        "",
        "### 3. Required Tools",
        "",
    ]
    tools = [list(t) for t in comp.tools]
    fix = [c for c in causes if c.mode.remedy.startswith("replace")][:2]
    for c in fix:
        variant = rng.choice(
            ("Gen 1 or Gen 2 — check serial number suffix", "Rev A or Rev B as fitted", "OEM part")
        )
        tools.append(
            [
                f"Replacement {c.part.name}",
                f"{model.brand} part, {variant}",
                f"{_cap(c.part.name)} replacement only",
            ]
        )
    lines += _table(["Tool", "Specification", "Purpose"], tools)
    lines += ["", "### 4. Step-by-Step Diagnostic & Repair Procedure", ""]
    lines += [
        "**Step 4.1: Remote Triage**",
        f"1. In the operations portal, confirm `{code}` on the target station and note the "
        "error timestamp.",
        "2. Attempt a remote restart from the portal. Wait 3 minutes and check whether the "
        "error clears.",
        "3. Check if other stations at the site report the same error — if so, this is likely "
        f"a {causes[0].title.lower()}.",
        "",
        "**Step 4.2: On-Site Visual Inspection**",
        "1. Inspect the following without opening the cabinet:",
    ]
    for c in causes[: min(4, len(causes))]:
        lines.append(f"   - **{_cap(c.part.name)}:** {c.fill(c.mode.detail)} means replacement.")
    lines += ["2. Photograph any damage before touching the unit.", ""]
    step = 3
    readings = [c for c in causes if c.reading is not None]
    if readings:
        lines.append(f"**Step 4.{step}: Meter Checks (If No Visible Damage)**")
        n = 1
        for c in readings:
            r = c.reading
            assert r is not None
            lo, hi = _nudge(r.lo, r.hi, rng) if r.nudge else (f"{r.lo:g}", f"{r.hi:g}")
            first = (r.lead + " " if r.lead else "") + r.expect.format(lo=lo, hi=hi)
            lines.append(f"{n}. {first}")
            lines.append(f"{n + 1}. {r.fault.format(cause=c.title.lower())}")
            n += 2
        lines.append("")
        step += 1
    lock = step
    lines += [
        f"**Step 4.{lock}: LOTO and Cabinet Access**",
        "1. Lock out the upstream breaker. Apply LOTO.",
        f"2. Open the {eq} cabinet rear panel ({rng.choice((4, 6))}x Phillips M4).",
        f"3. Locate the {comp.target.lower()} inside the cabinet.",
        "",
    ]
    step += 1
    for c in fix or causes[:1]:
        torque = rng.choice((0.8, 1.2, 2.0, 2.8, 3.5))
        lines += [
            f"**Step 4.{step}: {_cap(c.part.name)} Replacement**",
            f"1. Inside the cabinet, disconnect the {c.part.name} and note the wiring.",
            f"2. Remove the {c.part.name} and fit the new one.",
            f"3. Tighten the terminal screws to **{torque} Nm**. Do not over-tighten.",
            "",
        ]
        step += 1
    lines += [
        "### 5. Verification & Testing",
        "",
        "1. Remove LOTO. Restore the upstream breaker.",
        f"2. Allow the {eq} to complete its boot sequence (~60 seconds).",
        f"3. Verify the portal shows the port as Available with no active `{code}` alert.",
        "4. Complete a full test charge session with a test vehicle or EV emulator.",
        "5. Log the repair: note the port, the root cause and the part serial number.",
    ]
    return "\n".join(lines) + "\n"


def _nudge(lo: float, hi: float, rng: random.Random) -> tuple[str, str]:
    """The expected range, varied slightly per manual, as a manual writes it."""
    d = rng.choice((0.0, 0.0, 0.1, -0.1)) * (hi - lo) / 2
    return f"{lo + d:g}", f"{hi + d:g}"


def _probes(manual_id: str, code: str, causes: list[_Cause], rng: random.Random) -> list[Probe]:
    out: list[Probe] = []
    for c in causes:
        cid = cause_id(manual_id, c.title)
        pre, suf = rng.choice(PROBE_PREFIXES), rng.choice(PROBE_SUFFIXES)
        text = f"{pre}{c.part.effect_alt}, {c.fill(c.mode.detail_alt)}{suf}"
        out.append(Probe(text, code, cid, "symptom"))
        out.append(Probe(text, None, cid, "text-only"))
        if c.reading is not None:
            out.append(Probe(c.reading.probe, code, cid, "reading"))
    return out


def generate(
    out_dir: Path,
    total_causes: int,
    seed: int = 7,
    *,
    min_causes: int = MIN_CAUSES,
    max_causes: int = MAX_CAUSES,
) -> Corpus:
    """Write manuals with ``total_causes`` table-row causes in all into
    ``out_dir/manuals`` and a manifest (manuals, intended causes, probes) to
    ``out_dir/manifest.json``. The same arguments always give the same files."""
    if total_causes < 1:
        raise ValueError("total_causes must be at least 1")
    if not 1 <= min_causes <= max_causes <= min(len(c.parts) for c in COMPONENTS):
        raise ValueError("expected 1 <= min_causes <= max_causes <= parts per component")
    rng = random.Random(f"evkb-bench:{seed}:{total_causes}")
    corpus = Corpus(out_dir, seed, total_causes)
    corpus.manual_dir.mkdir(parents=True, exist_ok=True)
    for old in corpus.manual_dir.glob("*.md"):
        old.unlink()
    used: set[str] = set()
    model: _Model | None = None
    queue: list[ComponentSpec] = []
    for k in split_counts(total_causes, rng, min_causes, max_causes):
        if not queue:
            model = _Model(rng, used)
            queue = list(model.components)
        assert model is not None
        comp = queue.pop(0)
        manual_id = f"{slug(model.brand)}-{model.name.lower()}-{comp.slug}"
        code = f"{model.prefix}-ERR-{comp.code}-{model.name}"
        causes = _pick_causes(comp, k, rng)
        text = render_manual(model, comp, causes, code, rng)
        path = corpus.manual_dir / f"{manual_id}.md"
        path.write_text(text, encoding="utf-8")
        corpus.manuals.append(
            GenManual(
                manual_id,
                path.name,
                model.equipment,
                code,
                comp.category,
                tuple(GenCause(cause_id(manual_id, c.title), c.title, c.table) for c in causes),
            )
        )
        corpus.probes.extend(_probes(manual_id, code, causes, rng))
    (out_dir / "manifest.json").write_text(json.dumps(corpus.to_json(), indent=1) + "\n")
    return corpus


def load_manifest(root: Path) -> Corpus:
    data = json.loads((root / "manifest.json").read_text())
    corpus = Corpus(root, int(data["seed"]), int(data["total_causes"]))
    for m in data["manuals"]:
        causes = tuple(GenCause(**c) for c in m.pop("causes"))
        corpus.manuals.append(GenManual(**m, causes=causes))
    corpus.probes = [Probe(**p) for p in data["probes"]]
    return corpus


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.generate", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("out", type=Path, help="output directory (manuals/ and manifest.json)")
    ap.add_argument("--causes", type=int, default=100, help="total causes (default 100)")
    ap.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    args = ap.parse_args(argv)
    corpus = generate(args.out, args.causes, args.seed)
    print(
        f"wrote {len(corpus.manuals)} manuals with {corpus.total_causes} causes and "
        f"{len(corpus.probes)} probes to {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
