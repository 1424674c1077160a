"""Plain text: pages at form feeds (else every ~3000 characters, at paragraph breaks); chapter lines become sections."""
from __future__ import annotations

import re

from ingest.documents import Page, SectionStart
from ingest.parse.gutenberg import book_text
from ingest.parse.content import DocumentContent
from ingest.parse.normalize import normalize_text

PAGE_CHARS = 3000
MAX_HEADING_CHARS = 80
MAX_TITLE_CHARS = 100

# Preferred cut points, best first: a blank line, a line break, any space.
_PAGE_BREAKS = (re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*"), re.compile(r"\n"), re.compile(r"[ \t]+"))

# What numbered headings are (level 0 holds level 1, which holds level 2), and the numbers they are written with
# besides digits and roman numerals; app.sections reads questions naming such parts with the same words.
HEADING_LEVEL = {"book": 0, "part": 0, "volume": 0, "act": 1, "chapter": 1, "canto": 1, "scene": 2}
NUMBER_WORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
                "seventeen eighteen nineteen twenty").split()
_NUMBER = rf"(?:\d+|[ivxlcdm]+|{'|'.join(NUMBER_WORDS)})"
_NUMBERED_HEADING = re.compile(
    rf"^\s*(?P<key>(?P<keyword>{'|'.join(HEADING_LEVEL)})\s+{_NUMBER})\b(?P<rest>.*)$",
    re.IGNORECASE,
)
_NAMED_HEADING = re.compile(r"^\s*(?P<key>PROLOGUE|EPILOGUE|INDUCTION|PREFACE|INTRODUCTION)\.?\s*$")
_NAMED_HEADING_LEVEL = 2
_TITLE_PUNCTUATION = tuple(".:-)\u2013\u2014")


def parse_text(text: str) -> DocumentContent:
    """Pages and chapter/act/scene sections of a decoded plain-text file (of a Project Gutenberg file, the book
    alone: ingest.parse.gutenberg)."""
    text, declared_title = book_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    raw_pages = split_at_form_feeds(text) if "\f" in text else split_into_pages(text)
    pages = [Page(number=number, label=str(number), text=normalize_text(raw)) for number, raw in enumerate(raw_pages, 1)]
    return DocumentContent(title=declared_title or _first_line_title(text), pages=pages,
                           sections=find_chapter_headings(pages))


def split_at_form_feeds(text: str) -> list[str]:
    """One page per form-feed-separated part; a form feed at the very end does not start a page."""
    parts = text.split("\f")
    if len(parts) > 1 and not parts[-1].strip():
        parts.pop()
    return parts


def split_into_pages(text: str, page_chars: int = PAGE_CHARS) -> list[str]:
    """Consecutive slices of about page_chars characters, cut at a blank line where one is near."""
    pages = []
    start = 0
    while len(text) - start > page_chars:
        cut_start, cut_end = _page_cut(text, start, page_chars)
        pages.append(text[start:cut_start])
        start = cut_end
    pages.append(text[start:])
    return pages


def _page_cut(text: str, start: int, page_chars: int) -> tuple[int, int]:
    """The (start, end) of the break that ends the page beginning at start: the last one before the target
    length, else the first one after it; blank lines before line breaks before spaces; a hard cut as last resort."""
    earliest, target, latest = start + page_chars // 2, start + page_chars, start + page_chars * 3 // 2
    for pattern in _PAGE_BREAKS:
        chosen = None
        for match in pattern.finditer(text, earliest, latest):
            if chosen is not None and match.start() > target:
                break
            chosen = match
        if chosen is not None:
            return chosen.start(), chosen.end()
    return target, target


def find_chapter_headings(pages: list[Page]) -> list[SectionStart]:
    """Short lines after a blank line (or another heading) such as "CHAPTER IV", "Chapter 12. Title", "BOOK II", "ACT III", "SCENE II";
    a heading is prefixed with the enclosing ones it does not name itself ("ACT I, SCENE II. A Camp")."""
    sections = []
    enclosing: dict[int, str] = {}  # level -> key ("ACT I") of the heading in force at that level
    for page in pages:
        offset = 0
        may_precede_heading = True
        lines = page.text.split("\n")
        for i, line in enumerate(lines):
            heading = _heading_in_line(line) if may_precede_heading and not _opens_prose(lines[i:i + 3]) else None
            if heading is not None:
                level, key = heading
                enclosing = {lvl: k for lvl, k in enclosing.items() if lvl < level}
                parents = [enclosing[lvl] for lvl in sorted(enclosing) if enclosing[lvl].lower() not in line.lower()]
                title = " ".join(line.split()).rstrip(".:")
                sections.append(SectionStart(page.number, offset, ", ".join(parents + [title])))
                enclosing[level] = " ".join(key.split())
            may_precede_heading = not line.strip() or heading is not None  # "ACT 1" right above "SCENE 1"
            offset += len(line) + 1
    return sections


def _opens_prose(lines: list[str]) -> bool:
    """Whether lines[0] opens a paragraph of prose: 'BOOK I. (FOLIO), CHAPTER I. (SPERM WHALE).--This whale, among
    the' runs on, unpunctuated, into a paragraph of Moby-Dick's Cetology and is no heading. A heading stands alone,
    ends a sentence, is followed by another ('ACT I' right above 'SCENE I'), or wraps onto one more line at most
    ('Scene III. A churchyard; in it a Monument belonging to the' / 'Capulets.')."""
    first, following = lines[0], [line for line in lines[1:] if line.strip()]
    if len(following) < 2 or len(following) < len(lines) - 1 or first.rstrip().endswith(tuple(".:!?)]")):
        return False
    return re.search(r"[a-z]", first) is not None and _heading_in_line(following[0]) is None


def _heading_in_line(line: str) -> tuple[int, str] | None:
    """(level, key) when the line is a chapter-like heading, else None."""
    if len(line) > MAX_HEADING_CHARS:
        return None
    numbered = _NUMBERED_HEADING.match(line)
    if numbered:
        rest = numbered.group("rest").strip()
        if rest and not rest.startswith(_TITLE_PUNCTUATION) and not line.isupper():
            return None  # prose that happens to start with "Act I think..."
        return HEADING_LEVEL[numbered.group("keyword").lower()], numbered.group("key")
    named = _NAMED_HEADING.match(line)
    if named:
        return _NAMED_HEADING_LEVEL, named.group("key")
    return None


def _first_line_title(text: str) -> str | None:
    for line in text.split("\n", 50)[:50]:
        if line.strip():
            title = " ".join(line.split())
            return title if len(title) <= MAX_TITLE_CHARS else None
    return None
