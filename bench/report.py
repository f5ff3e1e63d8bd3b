"""Targets and the Markdown report of a benchmark run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Results = dict[str, Any]

TARGETS = {
    "diagnose_seed_ms": 5.0,
    "diagnose_10k_ms": 10.0,
    "ingest_manuals_per_s": 200.0,
    "cold_start_s": 0.5,
    "memory_10k_mb": 300.0,
}


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def t(seconds: float | None) -> str:
    """A duration in a readable unit."""
    if seconds is None:
        return "–"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


def mb(x: float | None) -> str:
    return "–" if x is None else f"{x:.0f} MB"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


def missing(job: Any, key: str) -> str:
    """Why a figure is absent: the job's time limit, its error, or nothing."""
    if not isinstance(job, dict):
        return "not measured"
    if job.get("status") == "timeout":
        return f"not measured: exceeded {job.get('timeout_s', 0):g} s"
    if str(job.get("status", "")).startswith("error"):
        return f"not measured: {job['status']}"
    return "not measured" if key not in job else ""


def med_p95(job: Any, key: str, fmt: Callable[[float | None], str] = t) -> str:
    s = _get(job, key)
    if not isinstance(s, dict) or not s.get("n"):
        return missing(job, key) or "–"
    return f"{fmt(s['median'])} / {fmt(s['p95'])}"


def _status(measured: float | None, target: float, higher_is_better: bool, unit: str) -> str:
    if measured is None:
        return "not measured"
    ok = measured >= target if higher_is_better else measured <= target
    if ok:
        return "met"
    diff = target - measured if higher_is_better else measured - target
    factor = target / measured if higher_is_better else measured / target
    return f"missed by {diff:.3g} {unit} ({factor:.3g}× off)"


def evaluate_targets(r: Results) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(
        name: str, measured: float | None, target: float, unit: str, hib: bool, note: str
    ) -> None:
        out.append(
            {
                "target": name,
                "measured": measured,
                "unit": unit,
                "goal": target,
                "status": _status(measured, target, hib, unit),
                "note": note,
            }
        )

    seed = _get(r, "seed", "diag", "latency_s", "median")
    add(
        "diagnose median, seed KB ≤ 5 ms",
        None if seed is None else seed * 1e3,
        TARGETS["diagnose_seed_ms"],
        "ms",
        False,
        "in process, engines built, evaluation cases",
    )
    big = _get(r, "sizes", "10000")
    absent = "size 10000 not run" if big is None else ""
    for key, label in (("coded", "with error code"), ("global", "text only")):
        v = _get(big, key, "latency_s", "median")
        add(
            f"diagnose median, 10,000 causes, {label} ≤ 10 ms",
            None if v is None else v * 1e3,
            TARGETS["diagnose_10k_ms"],
            "ms",
            False,
            absent or (missing(_get(big, key), "latency_s") if v is None else ""),
        )
    ing = _get(r, "ingest", "throughput_compile_cpu", "median")
    rel = _get(r, "ingest", "ratio_compile_cpu_to_markdown_it", "median")
    add(
        "ingest ≥ 200 manuals/s per core",
        ing,
        TARGETS["ingest_manuals_per_s"],
        "manuals/s",
        True,
        "compile_paths over a generated corpus in a fresh process, CPU time"
        + (f"; {rel:.2f}× a bare markdown-it parse in the same run" if rel else ""),
    )
    nopyc = _get(r, "cli", "dont_write_bytecode")
    for key, label in (
        ("evkb_help", "`evkb --help`"),
        ("evkb_diagnose_seed", "`evkb diagnose` (seed KB)"),
        ("evkb_help_pyc", "`evkb --help`, bytecode cached"),
        ("evkb_diagnose_seed_pyc", "`evkb diagnose` (seed KB), bytecode cached"),
    ):
        v = _get(r, "cli", key, "median")
        note = "median"
        if nopyc and not key.endswith("_pyc"):
            note += "; PYTHONDONTWRITEBYTECODE=1 here: every module compiled at each start"
        add(f"cold start {label} ≤ 0.5 s", v, TARGETS["cold_start_s"], "s", False, note)

    for key, label in (
        ("coded", "with error code"),
        ("global", "plus text-only queries"),
        ("serve", "one process serving text-only queries"),
    ):
        v = _get(big, key, "rss_peak_mb")
        if v is None and isinstance(_get(big, key), dict):
            # killed at the time limit: the last peak it reported is a lower bound
            v = max(
                (x for k, x in big[key].items() if k.startswith("rss_") and isinstance(x, float)),
                default=None,
            )
            note = "lower bound: " + missing(big[key], "rss_peak_mb") if v is not None else ""
        else:
            note = absent or (missing(_get(big, key), "rss_peak_mb") if v is None else "peak RSS")
            if key == "serve" and v is not None:
                kb_mb = _get(big, key, "rss_kb_mb")
                note = (
                    "peak RSS of a fresh process: the KB loaded once, engines built once, "
                    f"{_get(big, key, 'queries')} text-only probes"
                    + (f"; {kb_mb:.0f} MB after loading the KB alone" if kb_mb else "")
                )
            elif v is not None:
                note += (
                    " of the benchmark worker (baseline index and repeated engine builds included)"
                )
        add(
            f"memory, 10,000 causes, {label} ≤ 300 MB",
            v,
            TARGETS["memory_10k_mb"],
            "MB",
            False,
            note,
        )
    return out


def render(r: Results) -> str:
    meta = r.get("meta", {})
    sizes: dict[str, Any] = r.get("sizes", {})
    lines: list[str] = []
    cfg = meta.get("config", {})
    lines += [
        f"Run {meta.get('date', '?')}, Python {meta.get('python', '?')}, "
        f"{meta.get('cpus', '?')} CPUs, {meta.get('platform', '?')}; "
        f"sizes {', '.join(sizes) or '-'}; seed {cfg.get('seed')}; "
        f"time limit {cfg.get('timeout', 0):g} s per job; total {meta.get('total_s', 0):.0f} s; "
        f"1-minute load average {meta.get('load_average_start', -1):.1f} at the start, "
        f"{meta.get('load_average_end', -1):.1f} at the end"
        + (" (--quick)" if cfg.get("quick") else "")
        + ".",
        f"Code: {meta.get('git', '?')}.",
        "",
        "### Targets",
        "",
        "| target | measured | status | note |",
        "|---|---:|---|---|",
    ]
    for x in r.get("targets", []):
        m = x["measured"]
        shown = "–" if m is None else f"{m:.3g} {x['unit']}"
        lines.append(f"| {x['target']} | {shown} | {x['status']} | {x['note']} |")

    lines += [
        "",
        "### Diagnose (in process; median / p95)",
        "",
        "| KB | queries | engine build | evkb diagnose | baseline index | ratio (median) "
        "| top-1 evkb | top-1 baseline | peak RSS | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows: list[tuple[str, Any]] = [("seed KB, evaluation cases", _get(r, "seed", "diag"))]
    for n, e in sizes.items():
        rows.append((f"{int(n):,} causes, with error code", e.get("coded")))
        rows.append((f"{int(n):,} causes, text only", e.get("global")))
    for label, job in rows:
        lat = _get(job, "latency_s", "median")
        base = _get(job, "baseline_latency_s", "median")
        lines.append(
            f"| {label} | {_get(job, 'latency_s', 'n') or 0} | {med_p95(job, 'engine_build_s')} "
            f"| {med_p95(job, 'latency_s')} | {med_p95(job, 'baseline_latency_s')} "
            f"| {ratio(lat, base)} | {_acc(job, 'accuracy')} | {_acc(job, 'baseline_accuracy')} "
            f"| {_peak(job)} | {_loadavg(job)} |"
        )
    lines += [
        "",
        "Engine build = `evkb.api.diagnoser(kb)` on a fresh KB object plus its first `diagnose` "
        "(which builds the experta engine of that query's partition); split below.",
        "",
        "| KB | `diagnoser(kb)` | first query (partition build) | baseline index build "
        "| ratio (build) | partitions built | KB load |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, job in rows:
        build = _get(job, "engine_build_s", "median")
        base = _get(job, "baseline_build_s", "median")
        lines.append(
            f"| {label} | {med_p95(job, 'engine_diagnoser_s')} | "
            f"{med_p95(job, 'engine_first_query_s')} | {med_p95(job, 'baseline_build_s')} | "
            f"{ratio(build, base)} | {_get(job, 'partitions') or '–'} | "
            f"{t(_get(job, 'kb_load_s'))} |"
        )

    lines += [
        "",
        "### Memory (peak RSS of the worker process after each stage)",
        "",
        "| KB | interpreter + imports | + KB loaded | + baseline index | + engine, first query "
        "| + all queries | evkb / baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, job in rows:
        peak = _get(job, "rss_peak_mb")
        lines.append(
            f"| {label} | {mb(_get(job, 'rss_floor_mb'))} | {mb(_get(job, 'rss_kb_mb'))} | "
            f"{mb(_get(job, 'rss_index_mb'))} | {mb(_get(job, 'rss_first_query_mb'))} | "
            f"{_peak(job)} | "
            f"{ratio(peak, _get(job, 'rss_index_mb'))} |"
        )

    ing = r.get("ingest", {})
    lines += [
        "",
        f"### Ingest (corpus of {ing.get('corpus_causes', '?')} causes, "
        f"{ing.get('manuals', '?')} manuals; {_get(ing, 'throughput_compile', 'n') or 0} runs, "
        "each in a fresh process)",
        "",
        "| what | manuals/s median (wall) | slow tail (p5) | manuals/s per core (CPU time) "
        "| time / bare markdown-it (median of the runs) |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, label, rel in (
        ("compile", "evkb `compile_paths`, fresh process (as `evkb ingest`)", "compile"),
        ("compile_warm", "evkb `compile_paths` again, same process (caches warm)", "compile_warm"),
        ("markdown_it", "baseline: bare `MarkdownIt().parse()`", ""),
        ("markdown_it_ingest", "markdown-it as ingest configures it", ""),
    ):
        s = _get(ing, f"throughput_{key}")
        cpu = _get(ing, f"throughput_{key}_cpu", "median")
        if not isinstance(s, dict) or not s.get("n"):
            lines.append(f"| {label} | {missing(ing, f'throughput_{key}') or '–'} | | | |")
            continue
        if rel:
            times = _get(ing, f"ratio_{rel}_to_markdown_it", "median")
        else:
            bare = _get(ing, "throughput_markdown_it", "median")
            times = bare / s["median"] if bare else None
        lines.append(
            f"| {label} | {s['median']:.1f} | {s['p5']:.1f} | "
            f"{'–' if cpu is None else f'{cpu:.1f}'} | "
            f"{'–' if times is None else f'{times:.2f}×'} |"
        )
    lines += [
        "",
        "(last column: how many times longer the row takes than a bare markdown-it parse of "
        "the same texts, measured in the same process; the slow tail is the 5th percentile of "
        "the runs, the slowest run when there are fewer than 20. A fresh process pays for "
        "loading the curated vocabulary and compiling its patterns once, as `evkb ingest` "
        "does; the warm row shows what caches of texts already seen add.) Per manual, "
        f"rule chain alone (warm): {med_p95(ing, 'per_manual_ingest_text_s')}; bare "
        f"markdown-it: {med_p95(ing, 'per_manual_markdown_it_s')}.",
        "",
        "### Knowledge bases built (whole corpus, `evkb.api.build`, one run each)",
        "",
        "| KB | manuals | causes intended | causes in KB | merged by ingest | derived by ingest "
        "| evidence | build | manuals/s | KB file |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    seed = _get(r, "seed", "kb") or {}
    if seed:
        lines.append(
            f"| seed | {seed['manuals']} | – | {seed['causes']} | – | – | {seed['evidence']} | "
            f"{t(seed['build_s'])} | {seed['manuals'] / seed['build_s']:.1f} | "
            f"{seed['kb_bytes'] / 1e6:.2f} MB |"
        )
    for n, e in sizes.items():
        kb = e.get("kb")
        if not kb:
            lines.append(f"| {int(n):,} causes | {e.get('error', 'not built')} | | | | | | | | |")
            continue
        lines.append(
            f"| {int(n):,} causes | {kb['manuals']} | {kb['causes_intended']} | {kb['causes']} | "
            f"{kb['merged']} | {kb['derived']} | {kb['evidence']} | {t(kb['build_s'])} | "
            f"{kb['manuals_per_s']:.1f} | {kb['kb_bytes'] / 1e6:.2f} MB |"
        )

    cli = r.get("cli", {})
    base = _get(cli, "python_pass", "median")
    large = _get(cli, "evkb_diagnose_large", "causes") or "?"
    pyc_base = _get(cli, "python_pass_pyc", "median")
    lines += [
        "",
        "### CLI cold start (subprocess wall time, median / p95)",
        "",
        "| command | runs | median / p95 | vs `python -c pass` |",
        "|---|---:|---:|---:|",
    ]
    cached = " (bytecode cached)"
    for key, label in (
        ("python_pass", "baseline: `python -c pass`"),
        ("evkb_help", "`evkb --help`"),
        ("evkb_diagnose_seed", "`evkb diagnose ... --kb <seed KB>`"),
        ("evkb_diagnose_large", f"`evkb diagnose ... --kb <{large} causes>`"),
        ("python_pass_pyc", "baseline: `python -c pass`" + cached),
        ("evkb_help_pyc", "`evkb --help`" + cached),
        ("evkb_diagnose_seed_pyc", "`evkb diagnose ... --kb <seed KB>`" + cached),
    ):
        s = cli.get(key)
        if not isinstance(s, dict):
            continue
        if not s.get("n"):
            lines.append(f"| {label} | 0 | {_cell(s.get('error', 'not measured'))} | |")
            continue
        b = pyc_base if key.endswith("_pyc") else base
        shown = f"{t(s['median'])} / {t(s['p95'])}"
        if s.get("error"):
            shown += f" (then failed: {_cell(s['error'])})"
        lines.append(f"| {label} | {s['n']} | {shown} | {ratio(s['median'], b)} |")
    if cli.get("dont_write_bytecode"):
        lines += [
            "",
            "PYTHONDONTWRITEBYTECODE=1 is set in this environment, so every process compiles "
            "every module it imports; the bytecode-cached rows run with it unset and "
            "PYTHONPYCACHEPREFIX in the work directory (warmed by one untimed run).",
        ]
    lines += ["", "Commands:", ""]
    for key in ("python_pass", "evkb_help", "evkb_diagnose_seed", "evkb_diagnose_large"):
        s = cli.get(key)
        if isinstance(s, dict) and s.get("command"):
            cmd = str(s["command"]).replace(str(meta.get("workdir", "")), "$WORKDIR")
            lines.append(f"- `{cmd}`")
    return "\n".join(lines) + "\n"


def _acc(job: Any, key: str) -> str:
    a = _get(job, key)
    if not isinstance(a, dict) or not a.get("n"):
        return missing(job, key) or "–"
    text = f"{a['top1'] / a['n']:.0%} ({a['top1']}/{a['n']})"
    same = a.get("top1_title", a["top1"])
    if same != a["top1"]:
        text += f"; any model {same / a['n']:.0%}"
    if a.get("empty"):
        text += f"; {a['empty']} empty"
    return text


def _peak(job: Any) -> str:
    peak = _get(job, "rss_peak_mb")
    return mb(peak) if peak else missing(job, "rss_peak_mb") or "–"


def _loadavg(job: Any) -> str:
    a, b = _get(job, "load_average_start"), _get(job, "load_average_end")
    if a is None:
        return "–"
    return f"{a:.1f}" if b is None else f"{a:.1f} → {b:.1f}"


def _cell(text: str) -> str:
    """One line of text fit for a table cell: the first line and the last (an
    exception's message), no pipes."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if len(lines) > 1:
        lines = [lines[0], lines[-1]]
    return " … ".join(lines).replace("|", "\\|")[:300]
