"""The `nonattn-qa` command: subcommands registered from functions (`ingest`, `docs`; more to come)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    try:
        return version("nonattn-qa")
    except PackageNotFoundError:
        return "0.1.0"


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that points at --help, not the whole usage block first
    (its subcommands' parsers are of this class too: add_subparsers makes them of the parser's own class)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from app.ask_cli import add_ask_parser, add_eval_parser
    from app.prepare_cli import add_prepare_parser
    from app.serve_cli import add_serve_parser
    from ingest.cli import add_docs_parser, add_ingest_parser

    parser = OneLineErrorParser(prog="nonattn-qa", description="Question answering over book-length documents.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in (add_ingest_parser, add_docs_parser, add_prepare_parser, add_ask_parser, add_eval_parser,
                     add_serve_parser):
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    # pypdf reports recoverable damage ("EOF marker not found") through logging; our own one-line errors say what
    # matters to the user, so keep the library's chatter out of the terminal.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:             # the reader went away ('nonattn-qa ask ... | head -1'): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())    # nor at exit, when Python flushes stdout
        return 141                      # 128 + SIGPIPE, as a shell reports a command killed by it


if __name__ == "__main__":
    sys.exit(main())
