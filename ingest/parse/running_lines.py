"""Running headers and footers: the lines a paginated document repeats at the top or bottom of its pages.

A chapter title with the page number ("Chapter 3: Objects, their modes and attributes 15"), the manual's name and
version with the page number ("gnuplot 5.4 21"), a bare page number. They are not the text: left in, they cut
sentences that run across pages, fill passages and answers, and match questions that share their words.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from ingest.documents import Page

EDGE_LINES = 2   # lines looked at on each end of a page
MIN_PAGES = 3    # a header's shape (its digits aside) stands at the edge of at least this many pages
MAX_HEADER_WORDS = 12  # an edge line this short that starts or ends with the page's own number is its header
_DIGITS = re.compile(r"\d+")
_LETTER = re.compile(r"[^\W\d_]")


def strip_running_lines(pages: list[Page]) -> list[Page]:
    """The pages without their running headers and footers: edge lines that are the page's own number or label,
    or short ones that start or end with it, and edge lines with a number and words whose shape (digits aside)
    stands at the edges of MIN_PAGES pages."""
    shapes = Counter(shape for page in pages for shape in {_shape(line) for line in _edge_lines(page.text)})
    repeated = {shape for shape, count in shapes.items() if shape and count >= MIN_PAGES}
    return [replace(page, text=_strip_page(page, repeated)) for page in pages]


def _strip_page(page: Page, repeated: set[str]) -> str:
    lines = page.text.split("\n")
    start, end = 0, len(lines)
    while start < min(EDGE_LINES, end) and _is_running(lines[start], page, repeated):
        start += 1
    while end > max(start, len(lines) - EDGE_LINES) and _is_running(lines[end - 1], page, repeated):
        end -= 1
    if start >= end:  # nothing but such lines: more likely the page's content than its frame
        return page.text
    while start < end and not lines[start].strip():                     # nor the blank lines they stood beside
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end])


def _is_running(line: str, page: Page, repeated: set[str]) -> bool:
    words = line.lower().split()
    if not words:
        return False
    own_numbers = (page.label.lower(), str(page.number))
    if len(words) <= 2 and words[-1] in own_numbers:
        return words[0] in ("page", words[-1])                        # "17", "xii", "Page 17"
    if len(words) <= MAX_HEADER_WORDS and (words[0] in own_numbers or words[-1] in own_numbers):
        return True                                                    # "Chapter 3: Objects ... 15", "70 CallExternal"
    return _shape(line) in repeated


def _shape(line: str) -> str:
    """The line with its digits masked, or "" where it cannot be a running header (no number or no words)."""
    line = " ".join(line.split())
    if not _DIGITS.search(line) or not _LETTER.search(line):
        return ""
    return _DIGITS.sub("#", line).lower()


def _edge_lines(text: str) -> list[str]:
    lines = text.split("\n")
    return lines[:EDGE_LINES] + lines[-EDGE_LINES:]
