"""Clean-up applied to every page's text, whatever the format."""
from __future__ import annotations

import re

# Typographic ligatures spelled out so that lexical search finds "file" in "ﬁle"; NUL and soft hyphens dropped.
_CHARACTER_FIXES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
        "\x00": None,
        "\u00ad": None,
    }
)
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t\f\v]*\n)+")


def normalize_text(text: str) -> str:
    """Unix newlines, no ligatures/NUL/soft hyphens/lone surrogates, no blank lines at either end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_CHARACTER_FIXES)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (broken PDF text maps) cannot be stored or tokenized
        text = text.encode("utf-8", "replace").decode("utf-8")
    return _LEADING_BLANK_LINES.sub("", text).rstrip()
