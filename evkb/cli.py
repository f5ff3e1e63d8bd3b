"""evkb command line: a thin adapter over evkb.api."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kb.errors import KBError

DESCRIPTION = """\
evkb - expert system for EV charger (EVSE) field service.

Compiles maintenance manuals (Markdown) into a knowledge base of symptom -> cause
-> action facts, each citing the manual line it came from, and diagnoses what a
technician observes."""


def _kb_arg(p: argparse.ArgumentParser) -> None:
    from kb.store import default_path

    p.add_argument("--kb", type=Path, default=None, metavar="PATH",
                   help=f"compiled knowledge-base file (default: $EVKB_KB or {default_path()})")


def _kb_path(args: argparse.Namespace) -> Path:
    from kb.store import default_path

    return args.kb if args.kb is not None else default_path()


def cmd_ingest(args: argparse.Namespace) -> int:
    from evkb import api

    paths = args.paths or [Path("manuals")]
    kb = api.build(paths, _kb_path(args),
                   progress=None if args.quiet else lambda m: print(m, file=sys.stderr))
    counts = kb.summary()
    print(f"wrote {_kb_path(args)}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def cmd_kb_export(args: argparse.Namespace) -> int:
    from evkb import api

    print(api.dumps(api.export(api.load(_kb_path(args)))))
    return 0


def cmd_kb_summary(args: argparse.Namespace) -> int:
    from evkb import api

    kb = api.load(_kb_path(args))
    for m in kb.manuals:
        codes = ", ".join(m.error_codes) or "-"
        print(f"{m.id}: {m.title} [{m.equipment or 'generic'}; codes: {codes}]")
    print(", ".join(f"{n} {k}" for k, n in kb.summary().items()))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="evkb", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    ing = sub.add_parser("ingest", help="compile manuals into the knowledge base",
                         description="Compile Markdown manuals (default: manuals/) plus the "
                         "curated YAML in kb/curated into one knowledge-base file, written "
                         "atomically. A broken manual fails with path:line and leaves the "
                         "previous knowledge base untouched.")
    ing.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                     help="manual files or directories (default: manuals/)")
    ing.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    _kb_arg(ing)
    ing.set_defaults(func=cmd_ingest)

    kbp = sub.add_parser("kb", help="inspect the compiled knowledge base",
                         description="Inspect the compiled knowledge base.")
    kbsub = kbp.add_subparsers(dest="kb_command", metavar="COMMAND")
    exp = kbsub.add_parser("export", help="print the whole knowledge base as JSON",
                           description="Print the knowledge base as one JSON object with "
                           "manuals, error_codes, symptoms, causes, evidence, measurements, "
                           "steps, tools, parts and safety; every record has an id and a "
                           "source {path, line_start, line_end}.")
    _kb_arg(exp)
    exp.set_defaults(func=cmd_kb_export)
    summ = kbsub.add_parser("summary", help="list manuals and record counts",
                            description="List the compiled manuals and record counts.")
    _kb_arg(summ)
    summ.set_defaults(func=cmd_kb_summary)
    kbp.set_defaults(func=lambda a: (kbp.print_help(), 2)[1])
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not getattr(args, "func", None):
        p.print_help()
        return 2
    try:
        code: int = args.func(args)
        return code
    except KBError as e:
        print(f"evkb: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
