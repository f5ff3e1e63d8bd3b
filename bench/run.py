"""Run the whole benchmark and write the results.

    python -m bench                       # sizes 100, 1000, 10000; updates bench/README.md
    python -m bench --quick               # smoke size, a few repetitions, README untouched
    python -m bench --sizes 100,1000      # chosen sizes

Every figure is measured against a baseline measured in the same run (see
bench/README.md, "Method"); heavy jobs run in fresh worker processes
(``bench.worker``) with a time limit each, so a size that is too slow is reported
as "not measured: exceeded N s" instead of hanging the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.generate import Corpus, generate
from bench.stats import summary

ROOT = Path(__file__).resolve().parent.parent
README = Path(__file__).resolve().parent / "README.md"
SEED_CASE_FILES = (
    ROOT.parent / "shared" / "eval" / "dev_cases.yaml",
    ROOT / "tests" / "fixtures" / "holdout.yaml",
    ROOT / "tests" / "fixtures" / "paraphrases.yaml",
)
# used when the evaluation files above are absent
FALLBACK_SEED_CASES: tuple[tuple[str, str | None, str], ...] = (
    ("cable hangs loose and will not retract", "CP-ERR-RET", "spring"),
    ("very hard to pull the cable out", None, "tension"),
    ("connector pins look burned", None, "pin|inlet|burn"),
    ("CP to ground measures 0 V in standby", None, r"\bcp\b|control pilot"),
    ("station offline, phone shows 1 bar", "CP-ERR-WIFI", "coverage"),
    ("PP-PE 482 ohm regardless of the button", None, "release button"),
)
CLI_TEXT = "cable hangs loose and will not retract"
CLI_ERROR = "CP-ERR-RET"


@dataclass
class Config:
    sizes: list[int] = field(default_factory=lambda: [100, 1000, 10000])
    quick: bool = False
    workdir: Path | None = None
    seed: int = 7
    timeout: float = 180.0  # per worker job (one size, one kind of query)
    budget: float = 25.0  # seconds a timed loop may run before it stops early
    queries: int = 200  # timed diagnose queries per KB (at most)
    sample: int = 60  # distinct probes per KB
    build_reps: int = 5  # engine builds per KB (at most)
    ingest_reps: int = 5
    ingest_size: int | None = None  # corpus for the ingest throughput (default: 1000)
    cli_runs: int = 10
    cli_large: bool = True  # also time `evkb diagnose` cold on the largest generated KB
    readme: Path | None = None
    keep: bool = False  # keep the work directory
    parallel: bool = False  # two jobs at a time (smoke tests; skews the timings)

    @classmethod
    def quick_config(cls, **kw: Any) -> Config:
        base: dict[str, Any] = {
            "sizes": [20],
            "quick": True,
            "timeout": 60.0,
            "budget": 1.0,
            "queries": 20,
            "sample": 12,
            "build_reps": 2,
            "ingest_reps": 2,
            "cli_runs": 2,
        }
        base.update(kw)
        return cls(**base)


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ workers


@dataclass
class JobResult:
    status: str  # "ok", "timeout" or "error: ..."
    elapsed_s: float
    timeout_s: float
    values: dict[str, Any]


def run_worker(args: Sequence[str], timeout: float, cache: Path | None = None) -> JobResult:
    """Run ``python -m bench.worker ARGS`` with a time limit, collecting the
    figures it printed even if it is killed at the limit."""
    cmd = [sys.executable, "-m", "bench.worker", *args]
    values: dict[str, Any] = {}
    # the project root first, so the worker imports this bench/ (cwd is the root too)
    path = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    if cache is not None:  # imports are not timed: a bytecode cache only saves wall time
        env = {**pyc_env(cache), "PYTHONPATH": os.pathsep.join(path)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and "key" in item:
                values[str(item["key"])] = item.get("value")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
        status = "ok" if code == 0 else f"error: exit status {code}"
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        status = "timeout"
    reader.join(timeout=10)
    elapsed = time.perf_counter() - t0
    if status == "ok" and not values.get("done"):
        status = "error: incomplete output"
    return JobResult(status, elapsed, timeout, values)


def job_dict(job: JobResult) -> dict[str, Any]:
    return {
        "status": job.status,
        "elapsed_s": job.elapsed_s,
        "timeout_s": job.timeout_s,
        **job.values,
    }


# ------------------------------------------------------------------ probes


def seed_probes() -> list[dict[str, Any]]:
    import yaml

    out: list[dict[str, Any]] = []
    for path in SEED_CASE_FILES:
        if not path.exists():
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        cases = data if isinstance(data, list) else (data or {}).get("cases", [])
        for c in cases:
            if isinstance(c, dict) and c.get("text") and c.get("cause"):
                out.append(
                    {
                        "text": str(c["text"]),
                        "error": c.get("error"),
                        "expect": str(c["cause"]),
                        "match": "regex",
                    }
                )
    if not out:
        out = [
            {"text": t, "error": e, "expect": r, "match": "regex"}
            for t, e, r in FALLBACK_SEED_CASES
        ]
    return out


def corpus_probes(corpus: Corpus, kinds: Sequence[str], known: set[str]) -> list[dict[str, Any]]:
    """Probes of these kinds whose expected cause is in the compiled KB (a cause the
    ingest merged into another has no id of its own to expect)."""
    titles = {c.id: c.title for m in corpus.manuals for c in m.causes}
    return [
        {
            "text": p.text,
            "error": p.error,
            "expect": p.cause,
            "match": "id",
            "title": titles[p.cause],
        }
        for p in corpus.probes
        if p.kind in kinds and p.cause in known
    ]


# ------------------------------------------------------------------ steps


def build_kb(manual_dir: Path, kb_path: Path, label: str) -> dict[str, Any]:
    from evkb import api

    count = [0]

    def progress(_msg: str) -> None:
        count[0] += 1
        if count[0] % 200 == 0:
            log(f"{label}: ingested {count[0]} manuals")

    t0 = time.perf_counter()
    kb = api.build([manual_dir], kb_path, progress=progress)
    elapsed = time.perf_counter() - t0
    info = {
        "build_s": elapsed,
        "manuals": len(kb.manuals),
        "causes": len(kb.causes),
        "evidence": len(kb.evidence),
        "measurements": len(kb.measurements),
        "steps": len(kb.steps),
        "kb_bytes": kb_path.stat().st_size,
        "cause_ids": sorted(c.id for c in kb.causes),
    }
    return info


def pyc_env(workdir: Path) -> dict[str, str]:
    """The environment with bytecode caching on, the cache kept in the work directory
    (so nothing is written into the project or its virtual environment)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    return env


def cli_cold_start(
    cfg: Config, workdir: Path, seed_kb: Path, large: tuple[Path, dict[str, Any]] | None
) -> dict[str, Any]:
    """Wall time of CLI commands as subprocesses, in the environment as it is and
    (``*_pyc``) with a warm bytecode cache: PYTHONDONTWRITEBYTECODE=1, as set on some
    machines, makes every process compile every module it imports."""
    exe = Path(sys.executable)
    script = exe.with_name("evkb")
    evkb = [str(script)] if script.exists() else [str(exe), "-m", "evkb.cli"]
    diagnose = [*evkb, "diagnose", CLI_TEXT, "--error", CLI_ERROR, "--kb", str(seed_kb)]
    cmds: dict[str, list[str]] = {
        "python_pass": [str(exe), "-c", "pass"],
        "evkb_help": [*evkb, "--help"],
        "evkb_diagnose_seed": diagnose,
    }
    for name in list(cmds):
        cmds[f"{name}_pyc"] = cmds[name]
    runs = {k: cfg.cli_runs for k in cmds}
    if large is not None:
        path, probe = large
        cmds["evkb_diagnose_large"] = [*evkb, "diagnose", probe["text"], "--kb", str(path)]
        if probe.get("error"):
            cmds["evkb_diagnose_large"] += ["--error", str(probe["error"])]
        runs["evkb_diagnose_large"] = min(cfg.cli_runs, max(2, cfg.cli_runs // 3))
    cached = pyc_env(workdir)
    times: dict[str, list[float]] = {k: [] for k in cmds}
    failures: dict[str, str] = {}

    def once(name: str, record: bool = True) -> None:
        if name in failures:
            return
        env = cached if name.endswith("_pyc") else None
        t0 = time.perf_counter()
        try:
            r = subprocess.run(
                cmds[name], cwd=ROOT, env=env, capture_output=True, text=True, timeout=cfg.timeout
            )
        except subprocess.TimeoutExpired:
            failures[name] = f"timeout: exceeded {cfg.timeout:g} s"
            return
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            failures[name] = f"exit status {r.returncode}: {r.stderr.strip()[-300:]}"
            return
        if record:
            times[name].append(dt)

    warm = [name for name in cmds if name.endswith("_pyc")]
    for name in warm:  # fills the bytecode cache (not timed)
        once(name, record=False)
    # interleaved, so drift in the machine's load hits every command alike
    order = [name for i in range(max(runs.values())) for name in cmds if i < runs[name]]
    if cfg.parallel:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(once, order))
    else:
        for name in order:
            once(name)
    out: dict[str, Any] = {
        name: {**summary(times[name]), "command": " ".join(_shell(c) for c in cmd)}
        for name, cmd in cmds.items()
    }
    for name, msg in failures.items():
        out[name]["error"] = msg
    out["dont_write_bytecode"] = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    return out


def git_state() -> str:
    """HEAD and the tracked files modified in the working tree: what was measured."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
    except OSError:
        return "unknown (no git)"
    dirty = sorted(line[3:] for line in status if line.strip())
    if not head:
        return "unknown (not a git checkout)"
    return f"commit {head}" + (f" plus uncommitted changes to {', '.join(dirty)}" if dirty else "")


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return -1.0


def _shell(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def run_benchmark(cfg: Config, progress: Callable[[str], None] = log) -> dict[str, Any]:
    """Run every measurement of ``cfg``; returns the results (also written as
    JSON into the work directory and, with ``cfg.readme``, into the README)."""
    workdir = cfg.workdir or Path(tempfile.mkdtemp(prefix="evkb-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
            "workdir": str(workdir),
            "load_average_start": _load(),
            "git": git_state(),
        },
        "sizes": {},
    }

    # ---- seed knowledge base
    progress("seed KB: compiling manuals/")
    seed_dir = workdir / "seed"
    seed_dir.mkdir(exist_ok=True)
    seed_kb = seed_dir / "kb.json"
    seed_info = build_kb(ROOT / "manuals", seed_kb, "seed")
    seed_info.pop("cause_ids")
    sprobes = seed_probes()
    (seed_dir / "probes.json").write_text(json.dumps(sprobes))
    results["seed"] = {"kb": seed_info, "probes": len(sprobes)}

    # ---- synthetic corpora
    corpora: dict[int, tuple[Corpus, Path]] = {}
    for n in cfg.sizes:
        progress(f"{n} causes: generating manuals")
        root = workdir / f"size-{n}"
        t0 = time.perf_counter()
        corpus = generate(root, n, cfg.seed)
        gen_s = time.perf_counter() - t0
        progress(f"{n} causes: compiling {len(corpus.manuals)} manuals")
        kb_path = root / "kb.json"
        try:
            info = build_kb(corpus.manual_dir, kb_path, f"{n} causes")
        except Exception as e:  # a generated manual that does not ingest is a finding
            results["sizes"][str(n)] = {"error": f"ingest failed: {e}"}
            progress(f"{n} causes: ingest failed: {e}")
            continue
        known = set(info.pop("cause_ids"))
        intended = {c.id for m in corpus.manuals for c in m.causes}
        coded = corpus_probes(corpus, ("symptom", "reading"), known)
        text_only = corpus_probes(corpus, ("text-only",), known)
        (root / "probes-coded.json").write_text(json.dumps(coded))
        (root / "probes-text.json").write_text(json.dumps(text_only))
        results["sizes"][str(n)] = {
            "generate_s": gen_s,
            "kb": {
                **info,
                "causes_intended": corpus.total_causes,
                "merged": len(intended - known),
                "derived": len(known - intended),
                "manuals_per_s": info["manuals"] / info["build_s"],
            },
            "probes": {"coded": len(coded), "text_only": len(text_only)},
        }
        corpora[n] = (corpus, kb_path)

    # ---- jobs, each in a fresh worker process with its time limit
    jobs: list[tuple[str, list[str], Callable[[dict[str, Any]], None]]] = []
    if corpora:
        want = cfg.ingest_size or 1000
        size = want if want in corpora else min(corpora, key=lambda s: (abs(s - want), s))

        def store_ingest(res: dict[str, Any], size: int = size) -> None:
            results["ingest"] = {"corpus_causes": size, **res}

        args = ["ingest", "--manuals", str(corpora[size][0].manual_dir)]
        args += ["--reps", str(cfg.ingest_reps), "--min-reps", str(min(2, cfg.ingest_reps))]
        args += ["--budget", str(2 * cfg.budget)]
        jobs.append((f"ingest throughput on the {size}-cause corpus", args, store_ingest))

    def diag(
        label: str, kb_path: Path, probes: Path, queries: int, sample: int, least: int
    ) -> list[str]:
        args = ["diag", "--kb", str(kb_path), "--probes", str(probes), "--label", label]
        args += ["--sample", str(sample), "--queries", str(queries)]
        args += ["--min-queries", str(min(least, queries)), "--build-reps", str(cfg.build_reps)]
        args += ["--min-reps", str(min(2, cfg.build_reps)), "--budget", str(cfg.budget)]
        return args

    def store(*keys: str) -> Callable[[dict[str, Any]], None]:
        def put(res: dict[str, Any]) -> None:
            d = results
            for k in keys[:-1]:
                d = d[k]
            d[keys[-1]] = res

        return put

    sample = cfg.sample if cfg.quick else max(cfg.sample, len(sprobes))
    args = diag("seed KB", seed_kb, seed_dir / "probes.json", cfg.queries, sample, 20)
    jobs.append(("diagnose: seed KB", args, store("seed", "diag")))
    for n, (_corpus, kb_path) in corpora.items():
        root = kb_path.parent
        label = f"{n} causes, with error code"
        args = diag(label, kb_path, root / "probes-coded.json", cfg.queries, cfg.sample, 20)
        jobs.append((f"diagnose: {label}", args, store("sizes", str(n), "coded")))
        # one partition of every cause: a query may take seconds, so fewer and at least 5
        label = f"{n} causes, text only"
        queries = max(10, cfg.queries // 4)
        args = diag(label, kb_path, root / "probes-text.json", queries, cfg.sample, 5)
        jobs.append((f"diagnose: {label}", args, store("sizes", str(n), "global")))
        # what a service process holds: one load, one set of engines, the probes
        args = ["service-memory", "--kb", str(kb_path), "--probes", str(root / "probes-text.json")]
        args += ["--queries", str(cfg.sample)]
        jobs.append((f"memory: {n} causes, one process", args, store("sizes", str(n), "serve")))

    def run_job(name: str, args: list[str]) -> dict[str, Any]:
        progress(name)
        job = run_worker(args, cfg.timeout, workdir)
        if job.status != "ok":
            progress(f"{name}: {job.status} after {job.elapsed_s:.0f} s")
        return job_dict(job)

    if cfg.parallel:  # smoke runs only: concurrent jobs skew each other's timings
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [(pool.submit(run_job, name, args), put) for name, args, put in jobs]
            for fut, put in futures:
                put(fut.result())
    else:
        for name, args, put in jobs:
            put(run_job(name, args))

    # ---- CLI cold start
    progress("CLI cold start")
    large = None
    if corpora and cfg.cli_large:
        n = max(corpora)
        coded = json.loads((corpora[n][1].parent / "probes-coded.json").read_text())
        if coded:
            large = (corpora[n][1], coded[0])
    results["cli"] = cli_cold_start(cfg, workdir, seed_kb, large)
    if large is not None:
        results["cli"]["evkb_diagnose_large"]["causes"] = max(corpora)

    results["meta"]["total_s"] = time.perf_counter() - started
    results["meta"]["load_average_end"] = _load()
    from bench.report import evaluate_targets, render

    results["targets"] = evaluate_targets(results)
    (workdir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    text = render(results)
    if cfg.readme is not None:
        write_readme(cfg.readme, text)
        progress(f"wrote the results section of {cfg.readme}")
    if not cfg.keep and cfg.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
        results["meta"]["workdir"] = "(removed)"
    return results


BEGIN = "<!-- results:begin (generated by python -m bench; do not edit by hand) -->"
END = "<!-- results:end -->"


def write_readme(path: Path, section: str) -> None:
    """Replace the generated results section of ``path`` (between the markers),
    leaving the hand-written text around it as it is."""
    block = f"{BEGIN}\n{section.strip()}\n{END}"
    old = path.read_text(encoding="utf-8") if path.exists() else "# evkb benchmark\n\n"
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        new = head + block + tail
    else:
        new = old.rstrip("\n") + "\n\n## Results\n\n" + block + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(path)


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError("expected positive sizes")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description="evkb benchmark: ingest throughput, engine build, diagnose latency, "
        "memory and CLI cold start on the seed KB and on synthetic KBs of the given sizes, "
        "each against a baseline measured in the same run.",
        epilog="Results: a Markdown report on stdout, results.json in the work directory, "
        "and (full runs) the results section of bench/README.md.",
    )
    ap.add_argument(
        "--sizes",
        type=parse_sizes,
        default=None,
        metavar="N,N,...",
        help="synthetic KB sizes in causes (default 100,1000,10000; --quick: 20)",
    )
    ap.add_argument("--quick", action="store_true", help="smoke size and few repetitions")
    ap.add_argument(
        "--timeout", type=float, default=None, help="seconds per worker job (default 180)"
    )
    ap.add_argument(
        "--budget", type=float, default=None, help="seconds per timed loop (default 25)"
    )
    ap.add_argument("--cli-runs", type=int, default=None, help="runs per CLI command (default 10)")
    ap.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep generated files here")
    ap.add_argument(
        "--readme",
        type=Path,
        default=None,
        help="write the results section into this file (default: bench/README.md, "
        "not with --quick)",
    )
    ap.add_argument("--no-readme", action="store_true", help="do not touch any README")
    ap.add_argument("--json", type=Path, default=None, help="also write results.json here")
    args = ap.parse_args(argv)
    kw: dict[str, Any] = {"seed": args.seed, "workdir": args.workdir}
    for name in ("timeout", "budget", "cli_runs", "sizes"):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    cfg = Config.quick_config(**kw) if args.quick else Config(**kw)
    if not args.no_readme:
        cfg.readme = args.readme if args.readme is not None else (None if args.quick else README)
    results = run_benchmark(cfg)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    from bench.report import render

    print(render(results))
    return 0
