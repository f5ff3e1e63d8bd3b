"""The error-code catalogue (manuals/station-error-codes.md): ChargeX MREC codes and
OCPP 1.6 ChargePointErrorCode values compiled like any manual, checked against the
corpus notes they come from; diagnosed like a station code; reachable in words
(what is seen while a code holds) at a share of its prior; and a catalogue of
equipment-free codes does not dilute any model's ranking."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from engine.diagnose import Diagnoser
from kb.schema import KnowledgeBase
from tests.conftest import ROOT, SHARED

NOTES = SHARED / "corpus" / "notes"
CATALOGUE = "manuals/station-error-codes.md"


def _rows(name: str) -> list[dict[str, str]]:
    with open(NOTES / name, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def without_catalogue() -> KnowledgeBase:
    from ingest.pipeline import compile_paths

    old = os.getcwd()
    os.chdir(ROOT)
    try:
        seeds = sorted(p for p in Path("manuals").glob("*.md") if p.as_posix() != CATALOGUE)
        return compile_paths(seeds)
    finally:
        os.chdir(old)


@pytest.mark.skipif(not NOTES.exists(), reason=f"no corpus notes at {NOTES}")
def test_every_mapped_chargex_and_ocpp16_code_is_a_cited_error_code(seed_kb: KnowledgeBase) -> None:
    codes = {e.code: e for e in seed_kb.error_codes if e.source.path == CATALOGUE}
    mrec = {r["vendorErrorCode"] for r in _rows("everest_mrec_to_ocpp16.csv")} - {""}
    ocpp = {r["errorCode"] for r in _rows("ocpp16_chargepointerrorcode.csv")} - {"NoError"}
    assert len(mrec) >= 20 and len(ocpp) == 15
    assert mrec | ocpp <= set(codes), sorted((mrec | ocpp) - set(codes))
    lines = (ROOT / CATALOGUE).read_text().splitlines()
    for code, ec in codes.items():
        cited = "\n".join(lines[ec.source.line_start - 1 : ec.source.line_end])
        assert code in cited, (code, ec.source)
    causes = {c.id: c for c in seed_kb.causes}
    for code in mrec | ocpp:
        mine = [c for c in causes.values() if code in c.error_codes]
        assert mine and all(c.fixes or c.tests for c in mine), f"{code}: no cause with steps"


def test_chargex_code_is_diagnosed_like_a_station_code(seed_kb: KnowledgeBase) -> None:
    d = Diagnoser(seed_kb)
    for model in (None, "ChargePoint CT4000"):
        r = d.diagnose("", "CX002", model)
        assert r.causes[0].cause.title == "Ground fault circuit interrupter has been activated"
        assert r.plan is not None and r.plan.steps
        assert not r.warnings
    assert d.diagnose("", "cx025").causes[0].cause.title == "The latch on the connector is broken"


def test_a_known_code_written_in_the_report_is_named(tmp_path: Path) -> None:
    """A code of the knowledge base written in a code's shape inside the report (a
    ``CamelCase`` alarm, here as the last part of a path) counts as the code itself,
    shown as error-code evidence; the same words in plain lower case name no code."""
    from ingest.pipeline import compile_paths

    doc = tmp_path / "battery-alarms.md"
    doc.write_text(
        "# Battery alarms\n\n"
        "| Alarm | Meaning | Cause | Action |\n|---|---|---|---|\n"
        "| `BatteryLinkLost` | Battery communication lost | Bus cable unplugged "
        "| Check the bus cable |\n"
        "| `CellTooHot` | Cell temperature high | Fan failure | Check the fan |\n",
        encoding="utf-8",
    )
    d = Diagnoser(compile_paths([doc]))
    r = d.diagnose("since the electrician was in, /Alarms/BatteryLinkLost = 2, values frozen")
    assert [c.code for c in r.observation.error_codes] == ["BatteryLinkLost"]
    top = r.causes[0]
    assert top.cause.title == "Bus cable unplugged"
    assert any(e.reason == "error code" for e in top.evidence)
    plain = d.diagnose("since the electrician was in, the battery link lost, values frozen")
    assert not plain.observation.error_codes


def test_unknown_code_is_shown_as_unknown_with_the_closest(seed_kb: KnowledgeBase) -> None:
    r = Diagnoser(seed_kb).diagnose("station faulted", "CX099")
    (warning,) = r.warnings
    assert warning.startswith("unknown error code 'CX099'; closest known: CX0")


QUERIES = [
    ("cable hangs loose and will not retract", "CP-ERR-RET", None),
    ("cable hangs loose and will not retract", None, "ChargePoint CT4000"),
    ("modem keeps dropping offline", "CP-ERR-WIFI", None),
    ("charging handle release button stuck", None, None),
]


@pytest.mark.parametrize("text,code,model", QUERIES)
def test_the_catalogue_does_not_dilute_other_rankings(
    seed_kb: KnowledgeBase,
    without_catalogue: KnowledgeBase,
    text: str,
    code: str | None,
    model: str | None,
) -> None:
    """With a code of the equipment the catalogue stays out; in words alone it joins at
    a share of its prior (kb/curated/priors.yaml), and a report that describes none
    of its conditions keeps the equipment's causes in the same order, first."""

    def ranking(kb: KnowledgeBase) -> list[tuple[str, float]]:
        r = Diagnoser(kb).diagnose(text, code, model)
        return [(rc.cause.id, round(rc.confidence, 6)) for rc in r.causes]

    with_it, without = ranking(seed_kb), ranking(without_catalogue)
    if code is not None:
        assert with_it == without
        return
    own = {cid for cid, _p in without}
    assert [cid for cid, _p in with_it if cid in own] == [cid for cid, _p in without]
    assert with_it[0][0] == without[0][0]


IN_WORDS = [
    # what the catalogue's "What you see" column says, in a report without a code
    ("the residual current device in the supply trips every time", "Ground fault"),
    ("every session shows zero energy, no kWh in the back office", "power meter"),
]


@pytest.mark.parametrize("text,title", IN_WORDS)
def test_a_catalogue_condition_described_in_words_is_found(
    seed_kb: KnowledgeBase, without_catalogue: KnowledgeBase, text: str, title: str
) -> None:
    """Without its code, a catalogue cause is reachable by what is seen while it holds,
    first, and explained by that text. The knowledge base without the catalogue has
    no such cause to offer."""
    r = Diagnoser(seed_kb).diagnose(text)
    top = r.causes[0]
    assert title.lower() in top.cause.title.lower(), [rc.cause.title for rc in r.causes[:3]]
    assert top.cause.manual == "station-error-codes"
    assert any(c.reason == "symptom" for c in top.contribs), top.contribs
    other = Diagnoser(without_catalogue).diagnose(text)
    assert not any(title.lower() in rc.cause.title.lower() for rc in other.causes)


def test_the_catalogue_share_is_read_from_priors_yaml(tmp_path: Path) -> None:
    from engine.diagnose import catalogue_share
    from kb.errors import CuratedError

    (tmp_path / "priors.yaml").write_text(
        "priors: []\ncatalogue_without_code: 0.25\n", encoding="utf-8"
    )
    assert catalogue_share(tmp_path) == 0.25
    (tmp_path / "priors.yaml").write_text("priors: []\ncatalogue_without_code: 0\n")
    with pytest.raises(CuratedError, match=r"priors\.yaml:2: expected a share above 0"):
        catalogue_share(tmp_path)
