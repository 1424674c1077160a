"""Clean-up applied to every page's text, whatever the format."""
from __future__ import annotations

import re

# Typographic ligatures spelled out so that lexical search finds "file" in "ﬁle"; NUL, soft hyphens and the other
# control characters but tab, newline and form feed dropped (a PDF's unmapped glyph, such as the mark before
# texinfo's "Note:" boxes, comes out as "\x08" or "\x0b" and would show in answers).
_CONTROL_CHARACTERS = {code: None for code in [*range(0x01, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F]}
_CHARACTER_FIXES = str.maketrans(
    {
        **_CONTROL_CHARACTERS,
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
    """Unix newlines, no ligatures/control characters/soft hyphens/lone surrogates, no blank lines at either end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_CHARACTER_FIXES)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (broken PDF text maps) cannot be stored or tokenized
        text = text.encode("utf-8", "replace").decode("utf-8")
    return _LEADING_BLANK_LINES.sub("", text).rstrip()
