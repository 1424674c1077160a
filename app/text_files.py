"""A user's text file of lines (a --questions file, an eval file): read as UTF-8 with a leading byte-order mark
dropped (Windows editors write one), and one clear line for what cannot be read."""
from __future__ import annotations

import codecs
import sys
from pathlib import Path


class TextFileError(ValueError):
    """The file cannot be read as UTF-8 text; the message names the file (and the line of a bad byte)."""


def read_text_lines(path: str | Path) -> list[str]:
    """The lines of the file at `path` ('-': standard input)."""
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    except OSError as error:
        raise TextFileError(f"{path}: cannot read ({error.strerror or error})") from None
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise TextFileError(f"{path}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
                            "save the file as UTF-8") from None
