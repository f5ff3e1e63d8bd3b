"""The benchmark (bench/) at smoke size: synthetic manuals ingest, their symptoms
diagnose to their causes, and a run produces every figure. No speed is asserted."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from bench.report import render
from bench.run import Config, run_benchmark

STAGES = ("rss_floor_mb", "rss_kb_mb", "rss_index_mb", "rss_first_query_mb", "rss_peak_mb")
TIMINGS = (
    "engine_diagnoser_s",
    "engine_first_query_s",
    "engine_build_s",
    "latency_s",
    "baseline_build_s",
    "baseline_latency_s",
)


def _positive(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x > 0


def _stats_ok(s: Any) -> bool:
    return (
        isinstance(s, dict)
        and s.get("n", 0) >= 1
        and all(_positive(s[k]) for k in ("median", "p95"))
    )


def test_generator_is_deterministic(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", 20, seed=3)
    b = generate(tmp_path / "b", 20, seed=3)
    files = sorted(p.name for p in a.manual_dir.glob("*.md"))
    assert len(files) >= 2
    assert files == sorted(p.name for p in b.manual_dir.glob("*.md"))
    for name in files:
        assert (a.manual_dir / name).read_text() == (b.manual_dir / name).read_text()
    assert sum(len(m.causes) for m in a.manuals) == 20
    assert all(5 <= len(m.causes) <= 15 for m in a.manuals)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cfg = Config.quick_config(
        workdir=tmp_path_factory.mktemp("bench"),
        queries=10,
        sample=6,
        build_reps=1,
        ingest_reps=1,
        cli_runs=1,
        cli_large=False,
        parallel=True,  # two worker jobs at a time: timings are not asserted
    )
    return run_benchmark(cfg, progress=lambda _m: None)


def test_run_reports_every_metric(results: dict[str, Any]) -> None:
    jobs = {"seed": results["seed"]["diag"]}
    size = results["sizes"]["20"]
    jobs["coded"], jobs["global"] = size["coded"], size["global"]
    for name, job in jobs.items():
        assert job["status"] == "ok", name
        for key in TIMINGS:
            assert _stats_ok(job[key]), (name, key)
        for key in (*STAGES, "kb_load_s"):
            assert _positive(job[key]), (name, key)
        assert job["accuracy"]["n"] >= 1 and job["baseline_accuracy"]["n"] >= 1
    serve = size["serve"]
    assert serve["status"] == "ok" and serve["queries"] >= 1
    assert serve["rss_peak_mb"] >= serve["rss_kb_mb"] >= serve["rss_floor_mb"] > 0

    # the generated manuals ingest, and their symptoms diagnose to their causes
    kb = size["kb"]
    assert "error" not in size
    assert kb["causes_intended"] == 20 and kb["manuals"] >= 2
    assert kb["merged"] <= 2  # the ingest may merge a near-duplicate row
    coded = size["coded"]["accuracy"]
    assert coded["top3"] >= coded["n"] / 2
    assert kb["causes"] == kb["causes_intended"] - kb["merged"] + kb["derived"]
    assert _positive(kb["build_s"])

    ingest = results["ingest"]
    assert ingest["status"] == "ok"
    for key in ("throughput_compile", "throughput_markdown_it", "throughput_markdown_it_ingest"):
        assert _stats_ok(ingest[key]), key
    for key in ("per_manual_ingest_text_s", "per_manual_markdown_it_s"):
        assert _stats_ok(ingest[key]), key

    for key in ("python_pass", "evkb_help", "evkb_diagnose_seed"):
        for variant in (key, f"{key}_pyc"):
            assert "error" not in results["cli"][variant], results["cli"][variant]
            assert _stats_ok(results["cli"][variant]), variant

    names = {t["target"] for t in results["targets"]}
    assert len(names) == 11
    measured = [t for t in results["targets"] if t["measured"] is not None]
    assert all(_positive(t["measured"]) for t in measured)


def test_report_renders(results: dict[str, Any]) -> None:
    text = render(results)
    for heading in ("Targets", "Diagnose", "Memory", "Ingest", "CLI cold start"):
        assert f"### {heading}" in text
    assert "20 causes, with error code" in text
