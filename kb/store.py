"""Load and save the compiled knowledge base (one JSON file, written atomically)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from kb.errors import KBError, KBMissingError
from kb.schema import KnowledgeBase, kb_from_json, kb_to_json

DEFAULT_KB = Path("build") / "evkb-kb.json"
FORMAT = 1


def default_path() -> Path:
    env = os.environ.get("EVKB_KB")
    return Path(env) if env else DEFAULT_KB


def save(kb: KnowledgeBase, path: Path) -> None:
    """Write to a temporary file in the same directory, fsync, then rename: a crash
    at any point leaves the previous knowledge base intact."""
    data = kb_to_json(kb, curated=True)
    data["format"] = FORMAT
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _unwritable(path, e) from None
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it owner-only; a service user must read it
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:  # a directory at the path, disk full, ...
        Path(tmp).unlink(missing_ok=True)
        raise _unwritable(path, e) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _unwritable(path: Path, e: OSError) -> KBError:
    return KBError(f"{path}: cannot write the knowledge base here ({e.strerror or e})")


def load(path: Path) -> KnowledgeBase:
    if not path.exists():
        raise KBMissingError(
            f"{path}: no knowledge base here; run `evkb ingest` first (or pass --kb PATH)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise KBError(f"{path}: expected a compiled knowledge base ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise KBError(
            f"{path}: expected knowledge-base format {FORMAT}; rebuild with `evkb ingest`"
        )
    return kb_from_json(data)
