"""Where diagnose time goes: cProfile over a few queries, grouped by stage.

    python -m bench.profile --causes 1000                 # generated KB, queries with error code
    python -m bench.profile --causes 10000 --text-only    # one partition of every cause
    python -m bench.profile --kb build/evkb-kb.json --text "cable hangs loose" --error CP-ERR-RET
    python -m bench.profile --causes 10000 --build        # Diagnoser() + first query instead

The KB's engines are built before profiling (unless --build), so the figures are
per warm query. Stages are the functions that the Diagnoser (engine/diagnose.py)
calls directly, grouped by module, and inside the partition engine's ``run`` the
experta calls (reset, declare, run).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Func = tuple[str, int, str]  # (file, line, function name) as pstats keys them

STAGES: tuple[tuple[str, str], ...] = (
    ("engine/match.py", "matching observation clauses against KB texts (engine/match.py)"),
    ("engine/rules.py:run", "experta partition engine: reset + declare + run (engine/rules.py)"),
    ("engine/rules.py", "building experta facts (engine/rules.py)"),
    ("engine/observe.py", "observe: text -> clauses, codes, readings (engine/observe.py)"),
    ("engine/readings.py", "meter readings parser (engine/readings.py)"),
    ("engine/plan.py", "planning: procedure, parts, questions (engine/plan.py)"),
    ("kb/text.py", "text normalisation (kb/text.py)"),
)


def _where(f: Func) -> str:
    return f[0].replace("\\", "/")


def _stats(prof: cProfile.Profile) -> dict[Func, Any]:
    st = pstats.Stats(prof)
    data: dict[Func, Any] = vars(st)["stats"]
    return data


def children_of(
    stats: dict[Func, Any], is_parent: Callable[[Func], bool], is_child: Callable[[Func], bool]
) -> dict[Func, float]:
    """Cumulative time of each function ``is_child`` when called from a parent."""
    out: dict[Func, float] = {}
    for func, (_cc, _nc, _tt, _ct, callers) in stats.items():
        if not is_child(func):
            continue
        for caller, (_c1, _c2, _c3, ct) in callers.items():
            if is_parent(caller):
                out[func] = out.get(func, 0.0) + ct
    return out


def breakdown(stats: dict[Func, Any]) -> list[tuple[str, float]]:
    """Seconds per stage, for everything engine/diagnose.py calls (plus its own code)."""

    def in_diag(f: Func) -> bool:
        return _where(f).endswith("engine/diagnose.py")

    direct = children_of(stats, in_diag, lambda f: not in_diag(f))
    stages: dict[str, float] = {}
    for func, ct in direct.items():
        path = _where(func)
        label = None
        for key, name in STAGES:
            mod, _, fn = key.partition(":")
            if path.endswith(mod) and (not fn or func[2] == fn):
                label = name
                break
        if label is None and path == "~":  # built-ins called by the scoring code: below
            continue
        if label is None:
            tail = "/".join(path.split("/")[-2:]) if "/" in path else path
            label = f"other: {tail}:{func[2]}"
        stages[label] = stages.get(label, 0.0) + ct
    # the rest of the time inside engine/diagnose.py is its own code and the built-ins
    # it calls (sorted with key functions, sum over generators): the remainder
    total = total_of(stats, "engine/diagnose.py", "diagnose")
    stages["engine/diagnose.py own code: facts, scoring, ranking"] = max(
        0.0, total - sum(stages.values())
    )
    return sorted(stages.items(), key=lambda kv: -kv[1])


def experta_breakdown(stats: dict[Func, Any]) -> list[tuple[str, float]]:
    """Inside the partition engine's run: time per experta call."""

    def parent(f: Func) -> bool:
        return _where(f).endswith("engine/rules.py") and f[2] == "run"

    calls = children_of(stats, parent, lambda f: True)
    out: dict[str, float] = {}
    for func, ct in calls.items():
        path = _where(func)
        name = func[2] if "experta" in path else f"{path.split('/')[-1]}:{func[2]}"
        out[name] = out.get(name, 0.0) + ct
    own = sum(tt for f, (_cc, _nc, tt, _ct, _c) in stats.items() if parent(f))
    out["(rules.run own code: collecting contributions)"] = own
    return sorted(out.items(), key=lambda kv: -kv[1])


def experta_run_breakdown(stats: dict[Func, Any]) -> list[tuple[str, float]]:
    """Inside experta's KnowledgeEngine.run: agenda and matching vs the rules' actions."""

    def parent(f: Func) -> bool:
        return _where(f).endswith("experta/engine.py") and f[2] == "run"

    calls = children_of(stats, parent, lambda f: True)
    out: dict[str, float] = {}
    for func, ct in calls.items():
        path = _where(func)
        mod = path.split("site-packages/")[-1] if "site-packages/" in path else path
        out[f"{mod}:{func[2]}"] = out.get(f"{mod}:{func[2]}", 0.0) + ct
    own = sum(tt for f, (_cc, _nc, tt, _ct, _c) in stats.items() if parent(f))
    out["(experta run own code)"] = own
    return sorted(out.items(), key=lambda kv: -kv[1])


def total_of(stats: dict[Func, Any], suffix: str, name: str) -> float:
    return sum(
        float(ct)
        for f, (_cc, _nc, _tt, ct, _c) in stats.items()
        if _where(f).endswith(suffix) and f[2] == name
    )


def _probes(args: argparse.Namespace) -> tuple[Path, list[dict[str, Any]]]:
    if args.kb:
        text = args.text or "cable hangs loose and will not retract"
        return Path(args.kb), [{"text": text, "error": args.error}]
    from bench.generate import generate
    from evkb import api

    root = Path(args.workdir or tempfile.mkdtemp(prefix="evkb-profile-"))
    kb_path = root / "kb.json"
    corpus = generate(root, args.causes, args.seed)
    if not kb_path.exists():
        print(f"building a KB of {args.causes} causes in {root}", file=sys.stderr)
        api.build([corpus.manual_dir], kb_path)
    kind = "text-only" if args.text_only else "symptom"
    probes = [{"text": p.text, "error": p.error} for p in corpus.probes if p.kind == kind]
    step = max(1, len(probes) // args.queries)
    return kb_path, probes[::step][: args.queries]


def _table(title: str, rows: Sequence[tuple[str, float]], n: int, total: float) -> list[str]:
    out = [f"### {title}", "", "| stage | ms per query | share |", "|---|---:|---:|"]
    for name, sec in rows:
        if sec * 1e3 / n >= 0.005:
            out.append(f"| {name} | {sec * 1e3 / n:.2f} | {sec / total:.0%} |")
    return [*out, ""]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.profile",
        description="cProfile of evkb diagnose queries, grouped by stage",
    )
    ap.add_argument("--causes", type=int, default=1000, help="generated KB size (default 1000)")
    ap.add_argument("--kb", help="profile this compiled KB instead (with --text/--error)")
    ap.add_argument("--text", help="observation for --kb")
    ap.add_argument("--error", help="error code for --kb")
    ap.add_argument("--text-only", action="store_true", help="probes without error code")
    ap.add_argument("--queries", type=int, default=20, help="queries profiled (default 20)")
    ap.add_argument("--build", action="store_true", help="profile Diagnoser() + first query")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", help="keep the generated KB here (reused if present)")
    ap.add_argument("--top", type=int, default=15, help="functions listed by own time")
    ap.add_argument("--json", action="store_true", help="print the stage table as JSON")
    args = ap.parse_args(argv)

    import engine.diagnose  # noqa: F401  (not part of the profile)
    from evkb import api

    kb_path, probes = _probes(args)
    t0 = time.perf_counter()
    kb = api.load(kb_path)
    print(f"loaded {kb_path} ({len(kb.causes)} causes) in {time.perf_counter() - t0:.2f} s")
    prof = cProfile.Profile()
    if args.build:
        kb = copy.copy(kb)
        p = probes[0]
        prof.enable()
        api.diagnose(kb, p["text"], p["error"])
        prof.disable()
        n = 1
    else:
        for p in probes:  # build the partitions first
            api.diagnose(kb, p["text"], p["error"])
        t0 = time.perf_counter()
        prof.enable()
        for p in probes:
            api.diagnose(kb, p["text"], p["error"])
        prof.disable()
        n = len(probes)
        print(f"{n} warm queries, {(time.perf_counter() - t0) / n * 1e3:.1f} ms each (profiled)")
    stats = _stats(prof)
    total = total_of(stats, "evkb/api.py", "diagnose") or sum(v[2] for v in stats.values())
    stages = breakdown(stats)
    inner = experta_breakdown(stats)
    agenda = experta_run_breakdown(stats)
    if args.json:
        data = {"queries": n, "total_s": total, "stages": stages, "experta": inner}
        print(json.dumps({**data, "experta_run": agenda}))
        return 0
    print()
    print("\n".join(_table("Diagnose, by stage", stages, n, total)))
    if args.build:
        init = total_of(stats, "engine/diagnose.py", "__init__")
        print(f"(Diagnoser/Partition __init__ cumulative: {init:.2f} s)\n")
    print("\n".join(_table("Inside the partition engine's run", inner, n, total)))
    print("\n".join(_table("Inside experta's KnowledgeEngine.run", agenda, n, total)))
    st = pstats.Stats(prof, stream=sys.stdout)
    st.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
