"""Everything ingest extracts, written to files, so a change meant only to make
ingest faster can be checked to extract exactly the same.

    python -m bench.exports OUT_DIR              # write the exports
    diff -r BEFORE_DIR AFTER_DIR                 # compare two runs

For ``manuals/``, the whole shared corpus, every document in it on its own and a
generated bench corpus (``--causes``, default 1000), it writes the knowledge base as
``evkb ingest`` stores it (curated knowledge included), pretty-printed, plus the
progress and warning lines ingest printed. ``SHA256SUMS`` lists a hash per file.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = (ROOT.parent / "shared" / "corpus").resolve()


def export_one(paths: list[Path], out: Path) -> None:
    from ingest.pipeline import check_unique_ids, compile_paths
    from kb.schema import kb_to_json

    lines: list[str] = []
    kb = compile_paths(paths, progress=lines.append, warn=lines.append)
    check_unique_ids(kb)
    data = kb_to_json(kb, curated=True)
    out.with_suffix(".json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    out.with_suffix(".log").write_text("".join(f"{line}\n" for line in lines))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--causes", type=int, default=1000, help="generated corpus (0: none)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    from ingest.pipeline import find_manuals

    # (folder to compile from, so sources name paths below it; what to compile)
    jobs: dict[str, tuple[Path, list[Path]]] = {"manuals": (ROOT, [ROOT / "manuals"])}
    if CORPUS.is_dir():
        jobs["corpus"] = (CORPUS, [CORPUS])
        for doc in find_manuals([CORPUS]):
            name = "corpus-" + "-".join(doc.relative_to(CORPUS).with_suffix("").parts)
            jobs[name] = (CORPUS, [doc])
    with tempfile.TemporaryDirectory(prefix="evkb-exports-") as tmp:
        if args.causes:
            from bench.generate import generate

            corpus = generate(Path(tmp), args.causes, args.seed)
            jobs[f"bench-{args.causes}"] = (Path(tmp), [corpus.manual_dir])
        for name, (cwd, paths) in jobs.items():
            with contextlib.chdir(cwd):
                export_one(paths, out.resolve() / name)
    sums = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
        for p in sorted(out.iterdir())
        if p.name != "SHA256SUMS"
    ]
    (out / "SHA256SUMS").write_text("".join(sums))
    print(f"{len(jobs)} exports in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
