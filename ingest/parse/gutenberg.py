"""Project Gutenberg's plain texts: the book without the header and the licence around it.

A Gutenberg file opens with a header ('The Project Gutenberg EBook of ...', 'Title: ...', '*** START OF THIS
PROJECT GUTENBERG EBOOK ... ***', 'Produced by ...') and closes with some 20 KB of licence after '*** END OF ...
***'. None of it is the book: a reader asking of the book's end is not asking of its licence, nor does a
question about donations or refunds find its answer in a novel.
"""
from __future__ import annotations

import re

_START = re.compile(r"^\*{3}\s*START OF (?:THIS|THE) PROJECT GUTENBERG E-?BOOK\b.*$", re.I | re.M)
_END = re.compile(r"^\*{3}\s*END OF (?:THIS|THE) PROJECT GUTENBERG E-?BOOK\b.*$", re.I | re.M)
_END_LINE = re.compile(r"^\s*End of (?:the )?Project Gutenberg(?:'s|’s)? .*$", re.I | re.M)   # just before '*** END'
_PRODUCED_BY = re.compile(r"\A\s*(?:Produced by|Transcribed from|E-?text prepared by)\b.*?(?:\n[ \t]*\n|\Z)",
                          re.I | re.S)
_TITLE = re.compile(r"^Title:[ \t]*(\S.*)$", re.M)


def book_text(text: str) -> tuple[str, str | None]:
    """(the book's text, the title its header declares) of a Project Gutenberg file; (text, None) unchanged for
    any other text (one without the START marker)."""
    start = _START.search(text)
    if start is None:
        return text, None
    header, body = text[: start.start()], text[start.end():]
    end = _END.search(body)
    if end is not None:
        body = body[: end.start()]
    closing = list(_END_LINE.finditer(body))
    if closing and len(body) - closing[-1].start() < 1000:
        body = body[: closing[-1].start()]
    body = _PRODUCED_BY.sub("", body.lstrip("\n"), count=1)
    title = _TITLE.search(header)
    return body.strip("\n") + "\n", " ".join(title.group(1).split()) if title else None
