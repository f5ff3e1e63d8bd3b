"""evkb command line: a thin adapter over evkb.api."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evkb.limits import MAX_TEXT
from kb.errors import KBError

if TYPE_CHECKING:
    from evkb.accounts import Accounts

    # what add_subparsers() returns (generic only to the type checker)
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

DESCRIPTION = """\
evkb - expert system for EV charger (EVSE) field service.

Compiles maintenance manuals (Markdown) into a knowledge base of symptom -> cause
-> action facts, each citing the manual line it came from, and diagnoses what a
technician observes."""


def _kb_arg(p: argparse.ArgumentParser) -> None:
    from kb.store import default_path

    p.add_argument(
        "--kb",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"compiled knowledge-base file (default: $EVKB_KB or {default_path()})",
    )


def _kb_path(args: argparse.Namespace) -> Path:
    from kb.store import default_path

    return args.kb if args.kb is not None else default_path()


def cmd_ingest(args: argparse.Namespace) -> int:
    from evkb import api
    from ingest.pipeline import counted

    paths = args.paths or [Path("manuals")]
    kb = api.build(
        paths, _kb_path(args), progress=None if args.quiet else lambda m: print(m, file=sys.stderr)
    )
    counts = kb.summary()
    print(f"wrote {_kb_path(args)}: " + ", ".join(counted(n, k) for k, n in counts.items()))
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


def _print_diagnosis(data: dict[str, Any], code: str = "") -> None:
    """The diagnosis for people: the causes worth reading (the rest folded into one
    line), the first steps of the procedure and the next question."""
    from engine.views import summary

    s = summary(data, code)
    if s.message:
        print(s.message)
        if s.suggestions:
            print("Closest known symptoms:")
            for t in s.suggestions:
                print(f"  - {t}")
        if s.shown:
            print()
    if not s.shown:
        return
    print("Likely causes")
    for c in s.shown:
        print(f"  {c.percent:>5}  {c.title}")
        for e in c.evidence[:3]:
            sign = "+" if e.polarity == "for" else "-"
            print(f'         {sign} {e.how}: "{e.observation}" ~ "{e.matched}"  [{e.source}]')
    if s.folded:
        print(f"         {s.folded.text} (--json lists them)")
    if s.first_steps:
        print(f"\nFirst steps ({s.expected_minutes:.0f} min expected for the whole procedure)")
        for i, st in enumerate(s.first_steps, 1):
            lock = ", LOTO" if st.requires_lockout else ""
            print(f"  {i}. {st.title} ({st.minutes:.0f} min{lock}; {st.reason})  [{st.source}]")
        if s.more_steps:
            more = "step" if s.more_steps == 1 else "steps"
            print(f"  ... {s.more_steps} more {more}: `evkb workorder` prints the whole procedure")
    if s.question:
        print("\nNext question")
        print(f"  {s.question.asked}  [{s.question.source}]")
        for q in s.alternatives:
            print(f"  or: {q.asked}  [{q.source}]")


def _too_long(text: str) -> bool:
    if len(text) <= MAX_TEXT:
        return False
    print(
        f"evkb: error: observation too long ({len(text)} characters; at most {MAX_TEXT})",
        file=sys.stderr,
    )
    return True


def cmd_diagnose(args: argparse.Namespace) -> int:
    import json

    from evkb import api

    if not args.jsonl and not " ".join(args.text).strip() and not args.error:
        print("evkb: error: describe what you observe (TEXT) or give --error CODE", file=sys.stderr)
        return 2
    if not args.jsonl and _too_long(" ".join(args.text)):
        return 2
    kb = api.load(_kb_path(args))
    if args.jsonl:
        for n, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            try:
                req = json.loads(line)
                if not isinstance(req, dict) or not isinstance(req.get("text", ""), str):
                    raise ValueError("expected an object with a string 'text'")
            except ValueError as e:
                print(json.dumps({"error": f"stdin:{n}: {e}"}), flush=True)
                continue
            text = req.get("text", "")
            if len(text) > MAX_TEXT:
                msg = (
                    f"stdin:{n}: observation too long ({len(text)} characters; at most {MAX_TEXT})"
                )
                print(json.dumps({"error": msg}), flush=True)
                continue
            d = api.diagnose(kb, req.get("text", ""), req.get("error"), req.get("model"))
            print(json.dumps(api.diagnosis_json(d), ensure_ascii=False), flush=True)
        return 0
    text = " ".join(args.text)
    d = api.diagnose(kb, text, args.error, args.model)
    for w in d.warnings:
        print(f"evkb: warning: {w}", file=sys.stderr)
    data = api.diagnosis_json(d)
    if args.why_not:
        from engine.diagnose import UnknownCause

        try:
            why = api.diagnoser(kb).why_not(d, args.why_not)
        except UnknownCause as e:
            print(f"evkb: {e}", file=sys.stderr)
            return 1
        print(api.dumps(api.why_not_json(why)) if args.json else api.why_not_text(why))
        return 0
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _print_diagnosis(data, args.error or "")
    return 0


def cmd_workorder(args: argparse.Namespace) -> int:
    from evkb import api

    text = " ".join(args.text)
    if not text.strip() and not args.error:
        print("evkb: error: describe the fault (TEXT) or give --error CODE", file=sys.stderr)
        return 2
    if _too_long(text):
        return 2
    pdf = args.command == "workorder" and args.format == "pdf"
    if pdf and args.output is None and sys.stdout.isatty():
        print("evkb: error: a PDF goes to a file: give -o FILE", file=sys.stderr)
        return 2
    if args.output is not None and not args.output.resolve().parent.is_dir():
        raise KBError(f"{args.output}: no such directory {args.output.resolve().parent}")
    kb = api.load(_kb_path(args))
    kw = {"error": args.error, "model": args.model, "station": args.station, "port": args.port}
    out: str | bytes
    if args.command == "picklist":
        out = api.picklist(kb, text, **kw)
    elif pdf:
        out = api.workorder_pdf(kb, text, **kw)
    else:
        out = api.workorder(kb, text, fmt=args.format, **kw)
    data = out if isinstance(out, bytes) else out.encode("utf-8")
    if args.output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        _write_atomically(args.output, data)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _write_atomically(path: Path, data: bytes) -> None:
    import os
    import tempfile

    folder = path.resolve().parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_simulate(args: argparse.Namespace) -> int:
    import json

    from evkb import api

    if args.trials < 0:
        print("evkb: error: --trials must be 0 (exact) or more", file=sys.stderr)
        return 2
    if args.visit is not None and args.visit < 0:
        print("evkb: error: --visit must be 0 minutes or more", file=sys.stderr)
        return 2
    results = api.simulate(
        api.load(_kb_path(args)), trials=args.trials, seed=args.seed, visit=args.visit
    )
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=2))
        return 0
    how = f"means over {args.trials} sampled faults" if args.trials else "exact expectations"
    print(f"expected minutes to repair ({how}; the optimum is exact)")
    print(
        f"{'error code':<14} {'perfect':>8} {'optimal':>8} {'evkb':>8} {'manual':>8} "
        f"{'evkb/optimal':>12}"
    )
    for r in results:
        print(
            f"{r.code:<14} {r.perfect:>8.1f} {r.optimal:>8.1f} {r.evkb:>8.1f} {r.manual:>8.1f} "
            f"{r.evkb / r.optimal:>12.3f}"
        )
    return 0


def cmd_manual_lint(args: argparse.Namespace) -> int:
    from ingest.lint import lint_paths

    findings = lint_paths(args.paths or [Path("manuals")])
    for f in findings:
        print(f)
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    print(f"{errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors else 0


def cmd_manual_render(args: argparse.Namespace) -> int:
    from evkb import api

    kb = api.load(_kb_path(args))
    written = api.render_manuals(kb, args.out, progress=lambda m: print(m, file=sys.stderr))
    print(f"wrote {len(written)} manual(s) to {args.out}")
    return 0


def _db(args: argparse.Namespace) -> str:
    import os

    from evkb.orders import DEFAULT_DB

    return str(args.db or os.environ.get("EVKB_DB") or DEFAULT_DB)


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def cmd_serve(args: argparse.Namespace) -> int:
    from evkb.orders import Store, redact

    kb_path = _kb_path(args)
    if not kb_path.exists():
        raise KBError(f"{kb_path}: no knowledge base; run `evkb ingest` first")
    db = _db(args)
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise KBError("give both --ssl-certfile and --ssl-keyfile (or neither)")
    from evkb.accounts import Accounts

    if not Accounts(Store.open(db)).has_admin():
        db_arg = "" if db == _db(argparse.Namespace(db=None)) else f" --db '{redact(db)}'"
        print(
            f"evkb: no admin account in {redact(db)}. Create the first one, then start again:\n"
            f"  EVKB_PASSWORD=... evkb user add NAME --role admin{db_arg}\n"
            "(without $EVKB_PASSWORD the password is asked for twice)",
            file=sys.stderr,
        )
        return 2
    import uvicorn

    from evkb.limits import WS_MAX_SIZE
    from evkb.web import LOOPBACK_HOSTS, create_app

    hosts = list(args.allowed_host or [])
    if not hosts:
        hosts = list(LOOPBACK_HOSTS)
        if args.host not in ("0.0.0.0", "::", "", *LOOPBACK_HOSTS):
            hosts.append(args.host)
    if args.workers < 1:
        raise KBError(f"--workers must be at least 1, not {args.workers}")
    origins = list(args.ocpp_origin or ())
    options = {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "ws": "websockets-sansio",
        "ws_max_size": WS_MAX_SIZE,
        "ssl_certfile": args.ssl_certfile,
        "ssl_keyfile": args.ssl_keyfile,
        "server_header": False,
    }
    tls = bool(args.ssl_certfile)
    http, ws = ("https", "wss") if tls else ("http", "ws")
    where = (
        f"on {http}://{args.host}:{args.port}/ (OCPP: {ws}://{args.host}:{args.port}/ocpp/ID; "
        f"host names served: {', '.join(hosts)})"
    )
    if args.workers > 1:
        import os

        from evkb.serving import APP_FACTORY, NODELAY_HTTP
        from evkb.web import ENV_ORIGINS

        # every worker builds the app from the environment (evkb.web.app_from_env)
        os.environ.update(
            EVKB_KB=str(kb_path.resolve()),
            EVKB_DB=db,
            EVKB_ALLOWED_HOSTS=",".join(hosts),
            **{ENV_ORIGINS: ",".join(origins)},
        )
        print(
            f"evkb: serving {kb_path} with work orders in {redact(db)} in {args.workers} "
            f"worker processes {where}",
            file=sys.stderr,
        )
        uvicorn.run(APP_FACTORY, factory=True, workers=args.workers, http=NODELAY_HTTP, **options)
        return 0
    # opens the store and migrates before listening
    app = create_app(kb_path, db, allowed_hosts=hosts, ocpp_allowed_origins=origins)
    print(f"evkb: serving {kb_path} with work orders in {redact(db)} {where}", file=sys.stderr)
    uvicorn.run(app, **options)
    return 0


def _password(what: str) -> str:
    import getpass
    import os

    env = os.environ.get("EVKB_PASSWORD")
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise KBError(
            f"no password: set $EVKB_PASSWORD or run this in a terminal to type the {what}"
        )
    first = getpass.getpass(f"{what}: ")
    if getpass.getpass(f"{what} again: ") != first:
        raise KBError("the two passwords differ")
    return first


def _accounts(args: argparse.Namespace) -> Accounts:
    from evkb.accounts import Accounts
    from evkb.orders import Store

    return Accounts(Store.open(_db(args)))


def cmd_user_add(args: argparse.Namespace) -> int:
    from evkb.accounts import check_password

    acc = _accounts(args)
    password = _password(f"password for {args.name}")
    check_password(password)
    a = acc.add_user(args.name, args.role, password, actor=_actor())
    print(f"added {a.role} {a.name}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    for a in _accounts(args).users():
        print(f"{a.name}\t{a.role}\t{'enabled' if a.enabled else 'disabled'}\t{a.created_at}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    _accounts(args).disable_user(args.name, actor=_actor())
    print(f"disabled {args.name} (its sessions are ended)")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    secret = _accounts(args).create_token(args.name, args.role, actor=_actor())
    print(secret)
    print(
        f"token {args.name} ({args.role}): send it as 'Authorization: Bearer TOKEN'; "
        "it is shown only now",
        file=sys.stderr,
    )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    _accounts(args).revoke_token(args.name, actor=_actor())
    print(f"revoked {args.name}")
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    for t in _accounts(args).tokens():
        state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
        print(f"{t.name}\t{t.role}\t{state}\t{t.created_at}")
    return 0


def cmd_station_add(args: argparse.Namespace) -> int:
    import os

    given = os.environ.get("EVKB_PASSWORD")
    station, secret = _accounts(args).add_station(args.id, given, actor=_actor())
    if given is None:
        print(secret)
    print(
        f"station {station.id} added: it connects to /ocpp/{station.id} with HTTP Basic auth "
        f"(user {station.id}, "
        + (
            "the password in $EVKB_PASSWORD)"
            if given is not None
            else "the password above, shown only now)"
        ),
        file=sys.stderr,
    )
    return 0


def cmd_station_list(args: argparse.Namespace) -> int:
    for st in _accounts(args).store.stations():
        model = f"{st.vendor} {st.model}".strip() or "-"
        print(f"{st.id}\t{model}\t{st.equipment or '-'}\tlast seen {st.last_seen or 'never'}")
    return 0


def cmd_station_show(args: argparse.Namespace) -> int:
    store = _accounts(args).store
    st = store.station(args.id)
    if st is None:
        raise KBError(f"station {args.id!r} is not registered (evkb station list)")
    model = f"{st.vendor} {st.model}".strip() or "-"
    print(f"{st.id}\t{model}\t{st.equipment or '-'}\tlast seen {st.last_seen or 'never'}")
    for evse, connector, status, at in store.connectors(st.id):
        print(f"  EVSE {evse} connector {connector}: {status} (station time {at})")
    for e in store.audit_log(subject=f"station:{st.id}", limit=max(1, args.limit)):
        detail = ", ".join(f"{k}={v}" for k, v in e.detail.items())
        print(f"  {e.at}  {e.action}  {e.actor}" + (f"  {detail}" if detail else ""))
    return 0


def _group_help(group: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """A command group run without a subcommand prints its help and exits 2."""

    def show(_args: argparse.Namespace) -> int:
        group.print_help()
        return 2

    return show


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="work-order database: sqlite:///PATH or postgresql://USER@HOST/DB "
        "(default: $EVKB_DB or sqlite:///build/evkb-orders.sqlite3)",
    )


def _add_ingest(sub: Subparsers) -> None:
    ing = sub.add_parser(
        "ingest",
        help="compile manuals into the knowledge base",
        description="Compile Markdown manuals (default: manuals/) plus the "
        "curated YAML in kb/curated into one knowledge-base file, written "
        "atomically. A broken manual fails with path:line and leaves the "
        "previous knowledge base untouched.",
    )
    ing.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="manual files or directories (default: manuals/)",
    )
    ing.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    _kb_arg(ing)
    ing.set_defaults(func=cmd_ingest)


def _add_diagnose(sub: Subparsers) -> None:
    dia = sub.add_parser(
        "diagnose",
        help="rank the causes of what you observe",
        description="Rank the likely causes of an observation (free text, "
        "error code, meter readings such as 'PP-PE 482 ohm'), each with the "
        "evidence that matched and the manual line it rests on.",
    )
    dia.add_argument(
        "text",
        nargs="*",
        metavar="TEXT",
        help=f"what you observe, in your words (at most {MAX_TEXT} characters)",
    )
    dia.add_argument(
        "--error",
        metavar="CODE",
        help="error code reported (e.g. CP-ERR-RET, or an OCPP ChargePointErrorCode)",
    )
    dia.add_argument("--model", metavar="MODEL", help="equipment model (e.g. CT4000)")
    dia.add_argument("--json", action="store_true", help="print the result as JSON")
    dia.add_argument(
        "--jsonl",
        action="store_true",
        help='read JSON lines {"text": ..., "error": ...} on stdin, print one JSON result per line',
    )
    dia.add_argument(
        "--why-not",
        metavar="CAUSE",
        help="explain what evidence a cause (id or part of its title) lacked",
    )
    _kb_arg(dia)
    dia.set_defaults(func=cmd_diagnose)


def _add_reports(sub: Subparsers) -> None:
    for name, help_, desc in (
        (
            "workorder",
            "render a work order for a reported fault",
            "Render a work order: ranked causes with evidence and manual citations, lockout "
            "and PPE, parts (with variant and probability) and tools for the chosen steps, the "
            "ordered procedure with expected minutes, verification checklist, repair log and "
            "sign-off.",
        ),
        (
            "picklist",
            "dispatcher pick list: parts and tools for the truck",
            "Print the dispatcher pick list for a reported fault: each part with the "
            "probability it is needed and the causes that need it, and the tools.",
        ),
    ):
        wo = sub.add_parser(name, help=help_, description=desc)
        wo.add_argument("text", nargs="*", metavar="TEXT", help="the reported fault")
        if name == "workorder":
            wo.add_argument(
                "--format",
                choices=("md", "html", "pdf"),
                default="md",
                help="output format (default: md; html is printable; pdf, from the same "
                "HTML, needs the pdf extra and -o FILE unless piped)",
            )
        wo.add_argument("--error", metavar="CODE", help="error code reported")
        wo.add_argument("--model", metavar="MODEL", help="equipment model")
        wo.add_argument("--station", metavar="ID", help="station id")
        wo.add_argument("--port", type=int, metavar="N", help="port number")
        wo.add_argument(
            "-o",
            "--output",
            type=Path,
            metavar="FILE",
            help="write to FILE (atomically) instead of standard output",
        )
        _kb_arg(wo)
        wo.set_defaults(func=cmd_workorder)


def _add_simulate(sub: Subparsers) -> None:
    sim = sub.add_parser(
        "simulate",
        help="expected repair minutes: the optimum, evkb, the manual's order, perfect information",
        description="Fault simulator: for each error code's fault model (cause priors, step "
        "minutes and prerequisites, which step tests or fixes which cause) report the expected "
        "minutes to repair with perfect information (a lower bound), the exact optimum over "
        "every strategy, evkb's planner asked again after each result, and the manual's step "
        "order. The first step on site also costs a visit to the station (remote steps do "
        "not). Expectations are exact sums over the causes; --trials N samples N faults "
        "instead, as a check.",
    )
    sim.add_argument(
        "--visit",
        type=float,
        default=None,
        metavar="MIN",
        help="minutes a visit to the station costs (default: the planner's, "
        "kb/curated/steps.yaml; 0: visits are free)",
    )
    sim.add_argument(
        "--trials",
        type=int,
        default=0,
        help="sample this many faults per error code (default: 0, exact expectations)",
    )
    sim.add_argument("--seed", type=int, default=1, help="random seed for --trials (default: 1)")
    sim.add_argument(
        "--json",
        action="store_true",
        help='print [{"code", "optimal", "evkb", "manual", "perfect"}, ...] (minutes)',
    )
    _kb_arg(sim)
    sim.set_defaults(func=cmd_simulate)


def _add_serve(sub: Subparsers) -> None:
    srv = sub.add_parser(
        "serve",
        help="web app, JSON API and OCPP 1.6J / 2.0.1 intake (one ASGI service)",
        description="Serve the technicians' web app (/), the JSON API (/api/..., OpenAPI at "
        "/docs and /openapi.json) and the OCPP fault intake (ws://HOST:PORT/ocpp/"
        "STATION_ID, subprotocol ocpp1.6 or ocpp2.0.1, HTTP Basic auth per station). "
        "Everything but "
        "/login and /api/health needs a login or an API token; without an admin account "
        "it says how to create one and exits 2. Work orders and accounts are kept in "
        "SQLite by default; give --db postgresql://... to let several service processes "
        "share one database.",
    )
    srv.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    srv.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    _db_arg(srv)
    srv.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="a Host name the service answers to (repeatable; default: localhost, "
        "127.0.0.1, ::1 and --host); requests for any other host get 400",
    )
    srv.add_argument(
        "--ssl-certfile",
        metavar="PEM",
        help="TLS certificate: serve https and wss (OCPP profile 2)",
    )
    srv.add_argument("--ssl-keyfile", metavar="PEM", help="TLS private key for --ssl-certfile")
    srv.add_argument(
        "--ocpp-origin",
        action="append",
        metavar="ORIGIN",
        help="a browser origin allowed to open OCPP connections (default: none)",
    )
    srv.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (default: 1); with more than one, every worker serves the "
        "same port (uvicorn's process manager, TCP_NODELAY set on each connection) and "
        "they share --db: use PostgreSQL, or a SQLite file on a local disk",
    )
    srv.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default: info)",
    )
    _kb_arg(srv)
    srv.set_defaults(func=cmd_serve)


def _group(
    sub: Subparsers, name: str, help_: str, description: str
) -> tuple[argparse.ArgumentParser, Subparsers]:
    g = sub.add_parser(name, help=help_, description=description)
    g.set_defaults(func=_group_help(g))
    return g, g.add_subparsers(dest=f"{name}_command", metavar="COMMAND")


def _add_manual(sub: Subparsers) -> None:
    _man, mansub = _group(
        sub,
        "manual",
        "tools for documentation writers",
        "Tools for documentation writers: lint manuals, regenerate them.",
    )
    lint = mansub.add_parser(
        "lint",
        help="find safety gaps and inconsistencies in manuals",
        description="Check manuals and print findings as path:line: severity: message. "
        "Errors: cabinet work with no lockout before it, V x A that disagrees with the kW "
        "stated. Warnings: tools or consumables used in a step but missing from the "
        "Required Tools table, expected readings without units. Exit status 1 when there "
        "are errors.",
    )
    lint.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="manual files or directories (default: manuals/)",
    )
    lint.set_defaults(func=cmd_manual_lint)
    ren = mansub.add_parser(
        "render",
        help="regenerate every manual from the knowledge base",
        description="Regenerate one Markdown manual per source manual (same file name) "
        "into DIR from the knowledge base and templates/manual.md.j2: metadata, trigger "
        "lists, tables and steps from the records, prose as written. Ingesting DIR again "
        "yields the same knowledge base apart from source lines. Never overwrites the "
        "source manuals.",
    )
    ren.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="directory to write the manuals into"
    )
    _kb_arg(ren)
    ren.set_defaults(func=cmd_manual_render)


def _add_kb(sub: Subparsers) -> None:
    _kbp, kbsub = _group(
        sub, "kb", "inspect the compiled knowledge base", "Inspect the compiled knowledge base."
    )
    exp = kbsub.add_parser(
        "export",
        help="print the whole knowledge base as JSON",
        description="Print the knowledge base as one JSON object with "
        "manuals, error_codes, symptoms, causes, evidence, measurements, "
        "steps, tools, parts, safety and serial_formats; every record has an id "
        "and a source {path, line_start, line_end}.",
    )
    _kb_arg(exp)
    exp.set_defaults(func=cmd_kb_export)
    summ = kbsub.add_parser(
        "summary",
        help="list manuals and record counts",
        description="List the compiled manuals and record counts.",
    )
    _kb_arg(summ)
    summ.set_defaults(func=cmd_kb_summary)


ROLES = ("technician", "dispatcher", "writer", "admin")


def _add_user(sub: Subparsers) -> None:
    _u, usub = _group(
        sub,
        "user",
        "accounts of the web app and API (admin)",
        "Manage the people who log in: technicians (diagnose, work and close their "
        "orders), dispatchers (create, assign, reopen, pick lists), writers (knowledge base "
        "and manual tools) and admins (users, stations, tokens). Accounts live in the "
        "work-order database.",
    )
    add = usub.add_parser(
        "add",
        help="add an account",
        description="Add an account with a role. The password comes from $EVKB_PASSWORD, "
        "else it is asked for twice; it is stored as an argon2id hash.",
    )
    add.add_argument("name", metavar="NAME", help="user name (letters, digits, . _ @ -)")
    add.add_argument("--role", required=True, choices=ROLES, help="what the account may do")
    _db_arg(add)
    add.set_defaults(func=cmd_user_add)
    ls = usub.add_parser(
        "list", help="list accounts", description="List the accounts with role and state."
    )
    _db_arg(ls)
    ls.set_defaults(func=cmd_user_list)
    dis = usub.add_parser(
        "disable",
        help="disable an account",
        description="Disable an account: it can no longer log in and its sessions end. "
        "Its past actions stay in the audit trail.",
    )
    dis.add_argument("name", metavar="NAME", help="user name")
    _db_arg(dis)
    dis.set_defaults(func=cmd_user_disable)


def _add_token(sub: Subparsers) -> None:
    _t, tsub = _group(
        sub,
        "token",
        "API tokens for integrations (admin)",
        "Manage API tokens: integrations send one as 'Authorization: Bearer TOKEN'. "
        "Tokens are stored hashed and can be revoked.",
    )
    cr = tsub.add_parser(
        "create",
        help="create a token and print it once",
        description="Create a named token with a role and print it once: only its hash "
        "is stored, so it cannot be shown again.",
    )
    cr.add_argument("name", metavar="NAME", help="what the token is for (e.g. the integration)")
    cr.add_argument("--role", required=True, choices=ROLES, help="what the token may do")
    _db_arg(cr)
    cr.set_defaults(func=cmd_token_create)
    rv = tsub.add_parser(
        "revoke",
        help="revoke a token",
        description="Revoke a token by name: requests with it get 401 from then on.",
    )
    rv.add_argument("name", metavar="NAME", help="token name")
    _db_arg(rv)
    rv.set_defaults(func=cmd_token_revoke)
    ls = tsub.add_parser(
        "list", help="list tokens", description="List the tokens with role and state."
    )
    _db_arg(ls)
    ls.set_defaults(func=cmd_token_list)


def _add_station(sub: Subparsers) -> None:
    _s, ssub = _group(
        sub,
        "station",
        "OCPP stations allowed to connect (admin)",
        "Manage the OCPP stations allowed to connect: each authenticates with HTTP Basic "
        "auth (its id and its password) when it opens its WebSocket.",
    )
    add = ssub.add_parser(
        "add",
        help="register a station and print its password once",
        description="Register a station and print a generated OCPP password once (or use "
        "$EVKB_PASSWORD, 16 to 40 bytes); set it as the station's AuthorizationKey.",
    )
    add.add_argument("id", metavar="ID", help="station id (its OCPP chargeBoxIdentity)")
    _db_arg(add)
    add.set_defaults(func=cmd_station_add)
    ls = ssub.add_parser(
        "list",
        help="list stations",
        description="List the registered stations with model, equipment and last contact.",
    )
    _db_arg(ls)
    ls.set_defaults(func=cmd_station_list)
    show = ssub.add_parser(
        "show",
        help="a station's connectors and history",
        description="Show a station: model, the availability each connector reported last, "
        "and its history (security events, refused connections, stale reports), newest "
        "first.",
    )
    show.add_argument("id", metavar="ID", help="station id")
    show.add_argument("--limit", type=int, default=50, help="history entries (default 50)")
    _db_arg(show)
    show.set_defaults(func=cmd_station_show)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evkb", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for add in (
        _add_ingest,
        _add_diagnose,
        _add_reports,
        _add_simulate,
        _add_serve,
        _add_manual,
        _add_kb,
        _add_user,
        _add_token,
        _add_station,
    ):
        add(sub)
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
