"""`nonattn-qa serve`: the web UI over a store, local-only by default."""
from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys

AUTH_ENV = "NONATTN_QA_AUTH"


def add_serve_parser(subparsers) -> argparse.ArgumentParser:
    """Register `serve` on the CLI's subparsers."""
    from ingest.cli import add_store_arguments

    parser = subparsers.add_parser(
        "serve", help="the web UI (upload, ask, sources, cited pages)",
        description="Serve the Gradio UI. It listens on 127.0.0.1 only unless --host says otherwise; "
                    "give --auth (or $NONATTN_QA_AUTH) before exposing it.")
    add_store_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    parser.add_argument("--auth", metavar="USER:PASS", help=f"require this login (default: ${AUTH_ENV})")
    parser.add_argument("--max-file-size", default="200mb", metavar="SIZE",
                        help="largest file an upload may hold (default: %(default)s): a larger one is refused "
                             "and the others of its upload go on; one over 4 times it stops its whole upload")
    parser.add_argument("--upload-dir", metavar="DIR", help="where uploads are kept (default: DB/uploads)")
    parser.add_argument("--open-browser", action="store_true", help="open the page in a browser")
    parser.set_defaults(handler=run_serve)
    return parser


def parse_auth(text: str | None, given_as: str = "--auth") -> tuple[str, str] | None:
    """'user:pass' -> (user, pass); the password may contain ':'. `given_as` names where the text came from."""
    if not text:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ValueError(f"{given_as} wants USER:PASS with both parts non-empty")
    return user, password


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port (an unknown name, an address not this machine's, a port
    taken), found before the web stack starts and reports it in its own words; None when it can."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        return f"--host {host}: no such address ({error.strerror})"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return f"cannot serve on {host}:{port} ({error.strerror or error})"
    return None


def open_or_make_store(args: argparse.Namespace):
    """The store of --db (or the Chroma server), made empty where --db holds none yet, which stderr says: on a
    first run that is expected, and a mistyped --db shows there instead of as an empty page."""
    from ingest.errors import NoDatabaseError
    from ingest.store import Store

    try:
        return Store.open(db=args.db, host=args.chroma_host, port=args.chroma_port, create=False)
    except NoDatabaseError:
        store = Store.open(db=args.db, host=args.chroma_host, port=args.chroma_port)
        print(f"note: no database at {store.location} yet: made an empty one (upload documents in the Documents "
              "tab)", file=sys.stderr)
        return store


def run_serve(args: argparse.Namespace) -> int:
    from ingest.errors import StoreError
    from ingest.store import check_collection_name, port_problem

    from app.ask_cli import unwritable_directory
    from app.ui import build_app, default_upload_dir, launch, parse_size, prepare_collection

    try:
        auth = parse_auth(args.auth, "--auth") if args.auth else parse_auth(os.environ.get(AUTH_ENV), f"${AUTH_ENV}")
        parse_size(args.max_file_size)
        problem = port_problem("--port", args.port)
        if problem:
            raise ValueError(problem)
        check_collection_name(args.collection)      # the page would fall back to another collection without a word
    except (ValueError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    problem = listen_problem(args.host, args.port)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    try:
        store = open_or_make_store(args)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    upload_dir = args.upload_dir or default_upload_dir(None if args.chroma_host else store.location)
    problem = unwritable_directory(upload_dir)
    if problem:
        print(f"error: upload directory {upload_dir} {problem}", file=sys.stderr)
        return 2
    if not is_loopback(args.host) and auth is None:
        print(f"warning: serving on {args.host} without --auth: anyone who can reach it can read and change "
              "the documents", file=sys.stderr)
    app = build_app(store, upload_dir=upload_dir, max_file_size=args.max_file_size,
                    default_collection=args.collection)
    prepare_collection(app, args.collection)
    try:
        launch(app, host=args.host, port=args.port, auth=auth, inbrowser=args.open_browser)
    except OSError as error:  # the port is taken, the address is not ours
        print(f"error: cannot serve on {args.host}:{args.port} ({' '.join(str(error).split())})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
