"""Measurements that run in a fresh process, one process per job, so imports,
caches and peak memory (``ru_maxrss``) belong to that job alone.

A worker prints one JSON object per line on stdout as soon as each figure is
known (``{"key": ..., "value": ...}``), so a job killed at its time limit still
reports what it measured before; progress goes to stderr.

    python -m bench.worker diag   --kb KB.json --probes PROBES.json [options]
    python -m bench.worker ingest --manuals DIR [options]
    python -m bench.worker ingest-once --manuals DIR     (one run; ``ingest`` starts these)
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import re
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.stats import summary

Probe = dict[str, Any]  # {"text", "error", "expect", "match": "id" | "regex"}


def emit(key: str, value: Any) -> None:
    print(json.dumps({"key": key, "value": value}), flush=True)


def progress(msg: str) -> None:
    print(f"[bench worker] {msg}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    On Linux this is ``VmHWM`` from /proc/self/status: ``ru_maxrss`` would also count
    the parent's memory copied at fork time, since Linux keeps it across exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> float:
    """One-minute load average (other work on the machine skews every timing)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return -1.0


def hit(probe: Probe, ranked: Sequence[tuple[str, str]]) -> tuple[bool, bool, bool]:
    """(top-1, top-3, top-1 same title) for a ranking of (cause id, cause title). The
    last one counts the same failure of another equipment model as a hit (a
    text-only report cannot tell models apart); without a title it is top-1."""
    if probe["match"] == "id":
        ok = [cid == probe["expect"] for cid, _t in ranked[:3]]
    else:
        pat = re.compile(probe["expect"], re.I)
        ok = [bool(pat.search(title)) for _cid, title in ranked[:3]]
    top1 = bool(ok and ok[0])
    same = top1 or bool(ranked and probe.get("title") and ranked[0][1] == probe["title"])
    return (top1, any(ok), same)


class Accuracy:
    """Hits among the causes a diagnosis shows; ``empty`` counts answers showing none."""

    def __init__(self) -> None:
        self.n = self.top1 = self.top3 = self.title = self.empty = 0

    def add(self, probe: Probe, ranked: Sequence[tuple[str, str]]) -> None:
        a, b, c = hit(probe, ranked)
        self.n += 1
        self.top1 += a
        self.top3 += b
        self.title += c
        self.empty += not ranked

    def value(self) -> dict[str, int]:
        return {
            "n": self.n,
            "top1": self.top1,
            "top3": self.top3,
            "top1_title": self.title,
            "empty": self.empty,
        }


def spread(items: Sequence[Probe], k: int) -> list[Probe]:
    """``k`` items taken evenly across the list (all of them if fewer)."""
    if len(items) <= k:
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def diag(args: argparse.Namespace) -> None:
    import engine.diagnose  # noqa: F401  (imports are not part of any timing)
    from bench.baseline import InvertedIndex
    from evkb import api
    from kb.schema import KnowledgeBase

    emit("load_average_start", load_average())
    emit("rss_floor_mb", rss_mb())
    probes: list[Probe] = json.loads(Path(args.probes).read_text())
    sample = spread(probes, args.sample)
    emit("probes", {"available": len(probes), "sample": len(sample)})

    t0 = time.perf_counter()
    kb: KnowledgeBase = api.load(Path(args.kb))
    emit("kb_load_s", time.perf_counter() - t0)
    emit("kb_causes", len(kb.causes))
    gc.collect()
    emit("rss_kb_mb", rss_mb())
    titles = {c.id: c.title for c in kb.causes}

    # ---- baseline: inverted index over the same texts
    builds = []
    index = InvertedIndex(kb)
    for _ in range(args.build_reps):
        t0 = time.perf_counter()
        index = InvertedIndex(kb)
        builds.append(time.perf_counter() - t0)
    emit("baseline_build_s", summary(builds))
    acc = Accuracy()
    for p in sample:
        acc.add(p, [(cid, titles.get(cid, "")) for cid in index.query(p["text"], p["error"])])
    emit("baseline_accuracy", acc.value())
    lat = []
    for i in range(args.queries):
        p = sample[i % len(sample)]
        t0 = time.perf_counter()
        index.query(p["text"], p["error"])
        lat.append(time.perf_counter() - t0)
    emit("baseline_latency_s", summary(lat))
    emit("rss_index_mb", rss_mb())
    del index
    gc.collect()

    # ---- engine build: a fresh Diagnoser, then the first query on a partition
    progress(f"{args.label}: engine build (diagnoser + first query)")
    diagnoser_s: list[float] = []
    first_s: list[float] = []
    start = time.perf_counter()
    for r in range(args.build_reps):
        # a new KB object (and no cached indexes): api.diagnoser builds a new Diagnoser
        kbc = dataclasses.replace(kb, _index={})
        p = sample[(r * 7919) % len(sample)]
        t0 = time.perf_counter()
        api.diagnoser(kbc)
        t1 = time.perf_counter()
        api.diagnose(kbc, p["text"], p["error"])
        t2 = time.perf_counter()
        diagnoser_s.append(t1 - t0)
        first_s.append(t2 - t1)
        emit("engine_diagnoser_s", summary(diagnoser_s))
        emit("engine_first_query_s", summary(first_s))
        emit("engine_build_s", summary([a + b for a, b in zip(diagnoser_s, first_s, strict=True)]))
        progress(f"{args.label}: build {r + 1}: {t1 - t0:.2f} s + first query {t2 - t1:.2f} s")
        if r + 1 >= args.min_reps and time.perf_counter() - start > args.budget:
            break
    emit("rss_first_query_mb", rss_mb())

    # ---- warm pass (builds the other partitions) gives the accuracy
    progress(f"{args.label}: warm pass over up to {len(sample)} probes (accuracy)")
    acc = Accuracy()
    warm = []
    start = time.perf_counter()
    for p in sample:
        t0 = time.perf_counter()
        d = api.diagnose(kb, p["text"], p["error"])
        warm.append(time.perf_counter() - t0)
        acc.add(p, [(rc.cause.id, rc.cause.title) for rc in d.causes])
        emit("accuracy", acc.value())
        if acc.n >= args.min_queries and time.perf_counter() - start > args.budget:
            break
    emit("warm_pass_s", summary(warm))
    emit("partitions", len(getattr(api.diagnoser(kb), "_partitions", {})))

    # ---- latency with the engines built (only probes of the warm pass)
    warmed = sample[: acc.n]
    progress(f"{args.label}: up to {args.queries} timed queries")
    lat = []
    start = time.perf_counter()
    for i in range(args.queries):
        p = warmed[i % len(warmed)]
        t0 = time.perf_counter()
        api.diagnose(kb, p["text"], p["error"])
        lat.append(time.perf_counter() - t0)
        emit("latency_s", summary(lat))
        if i + 1 >= args.min_queries and time.perf_counter() - start > args.budget:
            break
    emit("rss_peak_mb", rss_mb())
    emit("load_average_end", load_average())
    emit("done", True)


def ingest_once(args: argparse.Namespace) -> None:
    """One run in a fresh process, as ``evkb ingest`` does it: ``compile_paths`` over
    the corpus with nothing loaded or cached yet (curated YAML, compiled patterns,
    per-text caches), then markdown-it over the same texts, then ``compile_paths``
    again (warm: what a long-lived process ingesting the corpus again would see).
    Wall and CPU time of each; prints one JSON object."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.front_matter import front_matter_plugin

    from ingest.pipeline import compile_paths, find_manuals, read_text

    root = Path(args.manuals)
    texts = [read_text(p) for p in find_manuals([root])]
    bare = MarkdownIt()
    configured = MarkdownIt("commonmark").enable("table").use(front_matter_plugin)
    out: dict[str, Any] = {"manuals": len(texts)}

    def timed(name: str, work: Any) -> None:
        w0, c0 = time.perf_counter(), time.process_time()
        work()
        out[f"{name}_wall_s"] = time.perf_counter() - w0
        out[f"{name}_cpu_s"] = time.process_time() - c0

    timed("compile", lambda: compile_paths([root]))
    timed("markdown_it", lambda: [bare.parse(t) for t in texts])
    timed("markdown_it_ingest", lambda: [configured.parse(t) for t in texts])
    timed("compile_warm", lambda: compile_paths([root]))
    print(json.dumps(out), flush=True)


def ingest(args: argparse.Namespace) -> None:
    import subprocess

    from markdown_it import MarkdownIt

    from ingest import curated
    from ingest.pipeline import find_manuals, ingest_text, read_text

    paths = find_manuals([Path(args.manuals)])
    texts = [(str(p), read_text(p), p.stem) for p in paths]
    emit("manuals", len(texts))
    emit("bytes", sum(len(t.encode()) for _p, t, _i in texts))
    bare = MarkdownIt()

    keys = ("compile", "markdown_it", "markdown_it_ingest", "compile_warm")
    per_run: dict[str, list[float]] = {f"{k}{c}": [] for k in keys for c in ("", "_cpu")}
    ratios: dict[str, list[float]] = {"compile": [], "compile_cpu": [], "compile_warm": []}
    per_manual: dict[str, list[float]] = {"ingest_text": [], "markdown_it": []}
    emit("load_average_start", load_average())
    # whole runs, each in a fresh process (caches of one run would speed up the next);
    # markdown-it over the same texts in the same process is the baseline of each run
    start = time.perf_counter()
    for r in range(args.reps):
        cmd = [sys.executable, "-m", "bench.worker", "ingest-once", "--manuals", args.manuals]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        run = json.loads(done.stdout.strip().splitlines()[-1])
        n = run["manuals"]
        for k in keys:
            per_run[k].append(n / run[f"{k}_wall_s"])
            per_run[f"{k}_cpu"].append(n / run[f"{k}_cpu_s"])
        ratios["compile"].append(run["compile_wall_s"] / run["markdown_it_wall_s"])
        ratios["compile_cpu"].append(run["compile_cpu_s"] / run["markdown_it_cpu_s"])
        ratios["compile_warm"].append(run["compile_warm_wall_s"] / run["markdown_it_wall_s"])
        for k, v in per_run.items():
            emit(f"throughput_{k}", summary(v))
        for k, v in ratios.items():
            emit(f"ratio_{k}_to_markdown_it", summary(v))
        progress(
            f"ingest run {r + 1}: {per_run['compile'][-1]:.1f} manuals/s, "
            f"{ratios['compile'][-1]:.2f}x markdown-it"
        )
        if r + 1 >= args.min_reps and time.perf_counter() - start > args.budget:
            break
    # per manual: the rule chain alone (no file reading, curated YAML loaded once)
    cur = curated.load()
    start = time.perf_counter()
    for _r in range(args.reps):
        for path, text, mid in texts:
            t0 = time.perf_counter()
            ingest_text(path, text, mid, cur)
            t1 = time.perf_counter()
            bare.parse(text)
            t2 = time.perf_counter()
            per_manual["ingest_text"].append(t1 - t0)
            per_manual["markdown_it"].append(t2 - t1)
        for k, v in per_manual.items():
            emit(f"per_manual_{k}_s", summary(v))
        if time.perf_counter() - start > args.budget:
            break
    emit("load_average_end", load_average())
    emit("done", True)


def service_memory(args: argparse.Namespace) -> None:
    """What one service process holds: the knowledge base loaded once, its engines
    built once, every probe answered (the ``diag`` job's peak also holds the
    baseline index and the engines of its timed rebuilds)."""
    import engine.diagnose  # noqa: F401
    from evkb import api

    gc.collect()
    emit("rss_floor_mb", rss_mb())
    kb = api.load(Path(args.kb))
    gc.collect()
    emit("rss_kb_mb", rss_mb())
    probes: list[Probe] = json.loads(Path(args.probes).read_text())
    for p in probes[: args.queries]:
        api.diagnose(kb, p["text"], p["error"])
    emit("queries", min(len(probes), args.queries))
    emit("rss_peak_mb", rss_mb())
    emit("done", True)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.worker", description=__doc__)
    sub = ap.add_subparsers(dest="job", required=True)
    d = sub.add_parser("diag", help="baseline index, engine build, accuracy, latency, memory")
    d.add_argument("--kb", required=True)
    d.add_argument("--probes", required=True)
    d.add_argument("--label", default="kb")
    d.add_argument("--sample", type=int, default=60, help="distinct probes used")
    d.add_argument("--queries", type=int, default=200, help="timed queries (at most)")
    d.add_argument("--min-queries", type=int, default=20)
    d.add_argument("--build-reps", type=int, default=5, help="engine builds (at most)")
    d.add_argument("--min-reps", type=int, default=2)
    d.add_argument("--budget", type=float, default=30.0, help="seconds per timed loop")
    i = sub.add_parser("ingest", help="ingest throughput vs markdown-it")
    i.add_argument("--manuals", required=True)
    i.add_argument("--reps", type=int, default=5)
    i.add_argument("--min-reps", type=int, default=2)
    i.add_argument("--budget", type=float, default=30.0)
    m = sub.add_parser("service-memory", help="peak RSS of one process serving the probes")
    m.add_argument("--kb", required=True)
    m.add_argument("--probes", required=True)
    m.add_argument("--queries", type=int, default=60, help="probes answered (at most)")
    o = sub.add_parser("ingest-once", help="one cold ingest run and markdown-it (JSON line)")
    o.add_argument("--manuals", required=True)
    args = ap.parse_args(argv)
    if args.job == "diag":
        diag(args)
    elif args.job == "service-memory":
        service_memory(args)
    elif args.job == "ingest":
        ingest(args)
    else:
        ingest_once(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
