"""The knowledge base `evkb kb export` prints for the seed manuals (manuals/).

Two kinds of check:

* explicit expectations written from the manuals (tests/fixtures/seed_expectations.yaml):
  metadata, error-code triggers, the symptom and cause tables, safety, tools and
  parts, steps and sub-steps, measurements;
* a golden file (tests/fixtures/golden/seed_kb.json): the whole export, so any
  change to what ingest produces shows up as a unified diff to review.

When a change to the export is intended, regenerate the golden file and review
its diff before committing::

    EVKB_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_seed_kb.py
"""

from __future__ import annotations

import difflib
import math
import os
from typing import Any

import pytest
import yaml

from tests.conftest import FIXTURES
from tests.markdown_text import normalise

EXPECT: dict[str, Any] = yaml.safe_load(
    (FIXTURES / "seed_expectations.yaml").read_text(encoding="utf-8")
)
GOLDEN = FIXTURES / "golden" / "seed_kb.json"

Record = dict[str, Any]


def by_manual(export: dict[str, Any], kind: str, manual: str) -> list[Record]:
    return [r for r in export[kind] if r.get("manual") == manual]


def same(a: str, b: str) -> bool:
    return normalise(a) == normalise(b)


def mentions(text: str, fragments: list[str]) -> bool:
    t = normalise(text)
    return all(normalise(f) in t for f in fragments)


def close(got: float | None, want: float, tolerance: float = 0.0) -> bool:
    return got is not None and math.isclose(got, want, rel_tol=1e-9, abs_tol=tolerance or 1e-9)


def cause_title(export: dict[str, Any], cause_id: str) -> str:
    titles = [c["title"] for c in export["causes"] if c["id"] == cause_id]
    assert titles, f"evidence or implication links to an unknown cause {cause_id!r}"
    return str(titles[0])


def params(items: list[Record], key: str) -> list[Any]:
    return [pytest.param(item, id=f"{item['manual']}:{item[key]}") for item in items]


# ------------------------------------------------------------------ metadata


@pytest.mark.parametrize("manual_id", sorted(EXPECT["manuals"]))
def test_manual_metadata(seed_export: dict[str, Any], manual_id: str) -> None:
    want: Record = EXPECT["manuals"][manual_id]
    got = [m for m in seed_export["manuals"] if m["id"] == manual_id]
    assert len(got) == 1, f"expected one manual {manual_id!r}, found {len(got)}"
    manual = got[0]
    for key, value in want.items():
        if key == "front_matter":
            continue
        if isinstance(value, list):
            assert manual[key] == value, f"{manual_id}: {key}"
        else:
            assert str(manual[key]) == value, f"{manual_id}: {key}"
    for key, value in want.get("front_matter", {}).items():
        assert key in manual["front_matter"], f"{manual_id}: front matter has no {key!r}"
        got_value = manual["front_matter"][key]
        if isinstance(value, list):
            # a YAML list is exported as a list or as one comma-separated string
            items = (
                got_value
                if isinstance(got_value, list)
                else [t.strip() for t in str(got_value).split(",")]
            )
            assert items == value, f"{manual_id}: front matter {key}"
        else:
            assert str(got_value) == value, f"{manual_id}: front matter {key}"


@pytest.mark.parametrize("want", EXPECT["error_codes"], ids=lambda w: w["code"])
def test_error_code_trigger_conditions(seed_export: dict[str, Any], want: Record) -> None:
    got = [e for e in seed_export["error_codes"] if e["code"] == want["code"]]
    assert len(got) == 1, f"expected one error code {want['code']}, found {len(got)}"
    code = got[0]
    assert code["manual"] == want["manual"]
    assert code["equipment"] == want["equipment"]
    assert [normalise(c) for c in code["conditions"]] == [normalise(c) for c in want["conditions"]]


# ------------------------------------------------------------------ tables


@pytest.mark.parametrize("row", params(EXPECT["symptom_table"], "symptom"))
def test_symptom_row_is_evidence_for_its_cause(seed_export: dict[str, Any], row: Record) -> None:
    symptoms = by_manual(seed_export, "symptoms", row["manual"])
    assert any(same(s["text"], row["symptom"]) for s in symptoms), (
        f"no symptom {row['symptom']!r}; symptoms: {[s['text'] for s in symptoms]}"
    )
    links = [
        cause_title(seed_export, e["cause"])
        for e in by_manual(seed_export, "evidence", row["manual"])
        if same(e["text"], row["symptom"]) and e["polarity"] == "for"
    ]
    assert any(same(t, row["cause"]) for t in links), (
        f"symptom {row['symptom']!r} is evidence for {links}, expected {row['cause']!r}"
    )


@pytest.mark.parametrize("row", params(EXPECT["cause_table"], "cause"))
def test_cause_table_row(seed_export: dict[str, Any], row: Record) -> None:
    causes = by_manual(seed_export, "causes", row["manual"])
    got = [c for c in causes if same(c["title"], row["cause"])]
    assert got, f"no cause {row['cause']!r}; causes: {[c['title'] for c in causes]}"
    cause = got[0]
    assert same(cause["notes"], row["notes"])
    if "prior_basis" in row:
        assert row["prior_basis"] in cause["prior_basis"].casefold(), (
            f"{row['cause']}: prior_basis {cause['prior_basis']!r} lost the wording "
            f"{row['prior_basis']!r}"
        )


# ------------------------------------------------------------------ safety


@pytest.mark.parametrize(
    "want",
    [
        pytest.param(w, id=f"{w['manual']}:{' '.join(w['work_mentions'])}")
        for w in EXPECT["lockout"]
    ],
)
def test_lockout_rule(seed_export: dict[str, Any], want: Record) -> None:
    rules = [
        r
        for r in by_manual(seed_export, "safety", want["manual"])
        if mentions(r["work"], want["work_mentions"])
    ]
    assert rules, f"no safety rule about {want['work_mentions']}"
    wrong = [(r["work"], r["lockout"]) for r in rules if r["lockout"] is not want["lockout"]]
    assert not wrong, f"expected lockout={want['lockout']}, got {wrong}"


@pytest.mark.parametrize("want", params(EXPECT["ppe"], "item"))
def test_ppe_item(seed_export: dict[str, Any], want: Record) -> None:
    items = [p for r in by_manual(seed_export, "safety", want["manual"]) for p in r["ppe"]]
    assert any(same(p, want["item"]) for p in items), (
        f"no PPE item {want['item']!r}; items: {items}"
    )


@pytest.mark.parametrize("want", params(EXPECT["voltages"], "voltage"))
def test_voltage_present(seed_export: dict[str, Any], want: Record) -> None:
    volts = {v for r in by_manual(seed_export, "safety", want["manual"]) for v in r["voltages"]}
    assert want["voltage"] in volts


# ------------------------------------------------------------------ tools and parts


@pytest.mark.parametrize(
    ("manual", "name"),
    [(m, n) for m, names in EXPECT["tools_tables"].items() for n in names],
)
def test_tools_table_row_is_tool_or_part(
    seed_export: dict[str, Any], manual: str, name: str
) -> None:
    names = [r["name"] for kind in ("tools", "parts") for r in by_manual(seed_export, kind, manual)]
    assert any(same(n, name) for n in names), f"no tool or part {name!r}; have {names}"


@pytest.mark.parametrize("manual", sorted(EXPECT["tools_tables"]))
def test_tools_table_has_no_extra_rows(seed_export: dict[str, Any], manual: str) -> None:
    names = [r["name"] for kind in ("tools", "parts") for r in by_manual(seed_export, kind, manual)]
    assert sorted(normalise(n) for n in names) == sorted(
        normalise(n) for n in EXPECT["tools_tables"][manual]
    )


@pytest.mark.parametrize("want", params(EXPECT["parts"], "name"))
def test_part_variants(seed_export: dict[str, Any], want: Record) -> None:
    got = [
        p for p in by_manual(seed_export, "parts", want["manual"]) if same(p["name"], want["name"])
    ]
    assert got, f"{want['name']!r} is not a part"
    part = got[0]
    assert [normalise(v) for v in part["variants"]] == [normalise(v) for v in want["variants"]]
    assert mentions(part["variant_basis"], want["basis_mentions"]), part["variant_basis"]


# ------------------------------------------------------------------ steps


def step_params() -> list[Any]:
    return [
        pytest.param(manual, step, id=f"{manual}:{step['number']}")
        for manual, steps in EXPECT["steps"].items()
        for step in steps
    ]


@pytest.mark.parametrize("manual", sorted(EXPECT["steps"]))
def test_manual_has_exactly_its_steps(seed_export: dict[str, Any], manual: str) -> None:
    got = [s["number"] for s in by_manual(seed_export, "steps", manual)]
    assert got == [s["number"] for s in EXPECT["steps"][manual]]


@pytest.mark.parametrize(("manual", "want"), step_params())
def test_step_and_substeps(seed_export: dict[str, Any], manual: str, want: Record) -> None:
    got = [s for s in by_manual(seed_export, "steps", manual) if s["number"] == want["number"]]
    assert len(got) == 1, f"expected one step {want['number']} in {manual}, found {len(got)}"
    step = got[0]
    assert same(step["title"], want["title"])
    substeps: list[str] = step["substeps"]
    assert len(substeps) == len(want["substeps"]), (
        f"step {want['number']}: {len(substeps)} sub-steps, expected {len(want['substeps'])}:\n"
        + "\n".join(f"  {i}. {s}" for i, s in enumerate(substeps, 1))
    )
    for i, (sub, spec) in enumerate(zip(substeps, want["substeps"], strict=True), 1):
        starts = spec if isinstance(spec, str) else spec["starts"]
        assert normalise(sub).startswith(normalise(starts)), (
            f"sub-step {want['number']}.{i} is {sub!r}, expected it to start {starts!r}"
        )
        for nested in [] if isinstance(spec, str) else spec["contains"]:
            assert normalise(nested) in normalise(sub), (
                f"sub-step {want['number']}.{i} lost its nested bullet {nested!r}"
            )


# ------------------------------------------------------------------ measurements


def matches_measurement(export: dict[str, Any], m: Record, want: Record) -> list[str]:
    """What of ``want`` the measurement ``m`` does not satisfy (empty: a match)."""
    tol = float(want.get("tolerance", 0.0))
    misses: list[str] = [k for k in ("quantity", "unit") if k in want and m[k] != want[k]]
    if "points" in want and set(m["points"]) != set(want["points"]):
        misses.append("points")
    misses += [k for k in ("low", "high") if k in want and not close(m[k], want[k], tol)]
    if "condition_mentions" in want and not mentions(m["condition"], want["condition_mentions"]):
        misses.append("condition")
    for imp_want in want.get("implications", []):
        if not any(implication_matches(export, imp, imp_want, tol) for imp in m["implications"]):
            misses.append(f"implication {imp_want}")
    return misses


def implication_matches(export: dict[str, Any], imp: Record, want: Record, tol: float) -> bool:
    if "when" in want and imp["when"] != want["when"]:
        return False
    if "value" in want and not close(imp["value"], want["value"], tol):
        return False
    if "mentions" in want and not mentions(imp["text"], want["mentions"]):
        return False
    if "cause_mentions" in want:
        if not imp["cause"]:
            return False
        return mentions(cause_title(export, imp["cause"]), want["cause_mentions"])
    return True


@pytest.mark.parametrize("want", params(EXPECT["measurements"], "name"))
def test_measurement(seed_export: dict[str, Any], want: Record) -> None:
    candidates = [
        m
        for m in by_manual(seed_export, "measurements", want["manual"])
        if m["quantity"] == want.get("quantity", m["quantity"])
    ]
    misses = {m["id"]: matches_measurement(seed_export, m, want) for m in candidates}
    assert any(not v for v in misses.values()), (
        f"no measurement matches {want['name']!r}; closest "
        + "; ".join(f"{k} misses {v}" for k, v in sorted(misses.items(), key=lambda kv: len(kv[1])))
    )


# ------------------------------------------------------------------ golden file


def test_export_matches_golden_file(seed_export_text: str) -> None:
    """The whole export equals tests/fixtures/golden/seed_kb.json. Regenerate with
    ``EVKB_UPDATE_GOLDEN=1 pytest tests/test_seed_kb.py`` and review the diff."""
    if os.environ.get("EVKB_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(seed_export_text, encoding="utf-8")
        return
    assert GOLDEN.exists(), (
        f"no golden file {GOLDEN}; create it with EVKB_UPDATE_GOLDEN=1 pytest tests/test_seed_kb.py"
    )
    want = GOLDEN.read_text(encoding="utf-8")
    if seed_export_text != want:
        diff = "".join(
            difflib.unified_diff(
                want.splitlines(keepends=True),
                seed_export_text.splitlines(keepends=True),
                fromfile=str(GOLDEN.relative_to(FIXTURES.parent.parent)),
                tofile="evkb kb export",
            )
        )
        pytest.fail(
            "the export differs from the golden file (if intended, regenerate with "
            "EVKB_UPDATE_GOLDEN=1 pytest tests/test_seed_kb.py and review):\n" + diff,
            pytrace=False,
        )
