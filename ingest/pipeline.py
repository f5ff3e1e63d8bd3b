"""Compile manuals plus curated YAML into one knowledge base.

``compile_paths`` runs the rule chain (``CHAIN``) over each manual's document
tree, then applies curated knowledge (kb/curated/*.yaml) whose citations are
resolved against the manuals being compiled."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from ingest import curated, faults, sentences, sidecar, tree
from ingest.extract import (
    causal_sentences,
    conditions,
    definitions,
    faq,
    fault_sections,
    measurements,
    metadata,
    outline,
    problem_statements,
    role_tables,
    safety,
    serials,
    statements,
    steps,
    tools_table,
    triggers,
)
from ingest.state import IngestState
from kb.errors import KBError, ManualError
from kb.precedence import step_graph
from kb.schema import RECORD_TYPES, KnowledgeBase

Rule = Callable[[IngestState], None]

# order matters: tables define causes before prose links to them
CHAIN: tuple[tuple[str, Rule], ...] = (
    ("metadata", metadata.run),
    ("sentences", sentences.collect),
    ("triggers", triggers.run),
    ("role_tables", role_tables.run),
    ("tools_table", tools_table.run),
    ("safety", safety.run),
    ("steps", steps.run),
    ("definitions", definitions.run),
    ("fault_sections", fault_sections.run),
    ("causal_sentences", causal_sentences.run),
    ("problem_statements", problem_statements.run),
    ("measurements", measurements.run),
    ("serials", serials.run),
    ("statements", statements.run),
    ("faq", faq.run),
    ("conditions", conditions.run),
    ("finish", faults.finish),
    ("outline", outline.run),
)

MANUAL_SUFFIXES = (".md", ".markdown")


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def find_manuals(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in MANUAL_SUFFIXES))
        elif p.exists():
            out.append(p)
        else:
            raise ManualError(str(p), 1, "expected an existing file or directory")
    return out


def manual_ids(paths: list[Path], roots: Iterable[Path] = ()) -> dict[Path, str]:
    """Each manual's id: its file name without the suffix; files of the same name in
    different folders are qualified by their folders below the folder that was given
    (``SOURCES`` and ``troubleshooting-SOURCES``), so a tree rendered elsewhere with
    the same layout gets the same ids."""
    bases = [r.resolve() for r in roots if r.is_dir()]

    def folders(p: Path) -> tuple[str, ...]:
        rp = p.resolve()
        for b in sorted(bases, key=lambda b: -len(b.parts)):
            if rp.is_relative_to(b):
                return rp.parent.relative_to(b).parts
        return rp.parent.parts

    out: dict[Path, str] = {}
    by_stem: dict[str, list[Path]] = {}
    for p in paths:
        by_stem.setdefault(p.stem, []).append(p)
    for stem, group in by_stem.items():
        names = [stem] if len(group) == 1 else ["-".join([*folders(p), stem]) for p in group]
        for p, name in zip(group, names, strict=True):
            out[p] = name
    return out


def read_text(path: Path) -> str:
    shown = display_path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ManualError(shown, 1, f"expected a readable file ({e.strerror})") from None
    # a BOM is dropped before decoding, so error positions count from the file's start
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        # CR LF and lone CR end lines, as markdown-it reads them
        return re.sub(r"\r\n?", "\n", data[bom:].decode("utf-8"))
    except UnicodeDecodeError as e:
        at = bom + e.start
        line = len(re.findall(rb"\r\n?|\n", data[:at])) + 1
        raise ManualError(
            shown, line, f"expected UTF-8 text (invalid byte 0x{data[at]:02x})"
        ) from None


def ingest_text(
    path: str, text: str, manual_id: str, cur: curated.Curated | None = None
) -> IngestState:
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ManualError(path, line, "expected text, found a NUL byte (binary file?)")
    cur = cur or curated.load()
    doc = tree.parse(path, text)
    state = IngestState(doc, manual_id, cur.lexicon, cur.priors, cur.roles, cur.steps)
    for _name, rule in CHAIN:
        rule(state)
    return state


def summary(state: IngestState) -> str:
    """What ingest found in one manual, for the progress line."""
    faults = len(state.get("error_codes")) + len(state.get("symptoms"))
    actions = sum(1 for s in state.get("steps") if not s.number)
    steps = sum(1 for s in state.get("steps") if s.number)
    parts = [
        (faults, "faults"),
        (len(state.get("causes")), "causes"),
        (actions, "actions"),
        (steps, "steps"),
        (len(state.get("measurements")), "readings"),
    ]
    return ", ".join(counted(n, what) for n, what in parts if n) or "nothing structured"


def counted(n: int, plural: str) -> str:
    """ "1 fault", "2 faults"; a mass noun keeps its form ("1 evidence", "1 safety").

    >>> counted(1, "faults"), counted(3, "error_codes"), counted(1, "safety")
    ('1 fault', '3 error codes', '1 safety')
    """
    words = plural.replace("_", " ")
    if n == 1 and words.endswith("s") and not words.endswith("ss"):
        words = words[:-1]
    return f"{n} {words}"


def compile_paths(
    paths: Iterable[Path],
    *,
    progress: Callable[[str], None] | None = None,
    curated_dir: Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> KnowledgeBase:
    """Compile manuals (files or folders of them) and the sidecars beside them.

    ``progress`` gets one line per manual saying what was found; ``warn`` gets
    ``path:line: warning: ...`` for troubleshooting content that could not be
    structured (and for a troubleshooting document that yielded nothing)."""
    cur = curated.load(curated_dir)
    buckets: dict[str, list[object]] = {name: [] for name in RECORD_TYPES}
    seen: dict[str, str] = {}
    texts: dict[str, tuple[str, str]] = {}
    sidecars: list[sidecar.Sidecar] = []
    paths = list(paths)
    found = find_manuals(paths)
    ids = manual_ids(found, paths)
    for path in found:
        shown = display_path(path)
        manual_id = ids[path]
        if manual_id in seen:
            raise ManualError(
                shown, 1, f"expected a unique file name; {manual_id!r} is also {seen[manual_id]}"
            )
        seen[manual_id] = shown
        text = read_text(path)
        state = ingest_text(shown, text, manual_id, cur)
        texts[manual_id] = (shown, text)
        side = sidecar.path_for(path)
        if side.is_file():
            sidecars.append(sidecar.load(side, display_path(side), manual_id))
        for name in RECORD_TYPES:
            buckets[name].extend(state.records.get(name, []))
        if progress:
            progress(f"ingested {shown}: {summary(state)}")
        if warn:
            for line, message in state.warnings:
                warn(f"{shown}:{line}: warning: {message}")
    kb = KnowledgeBase(**{k: tuple(v) for k, v in buckets.items()})  # type: ignore[arg-type]
    kb = sidecar.apply(kb, sidecars, texts, cur.priors)
    step_graph(kb)  # the steps' dependency graph: a cycle fails the compile
    return replace(kb, lexicon=cur.lexicon_entries)


def check_unique_ids(kb: KnowledgeBase) -> None:
    for name in RECORD_TYPES:
        ids: set[str] = set()
        for r in getattr(kb, name):
            if r.id in ids:
                raise KBError(f"{r.source.path}:{r.source.line_start}: duplicate {name} id {r.id}")
            ids.add(r.id)


__all__ = ["CHAIN", "compile_paths", "display_path", "ingest_text"]
