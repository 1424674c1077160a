"""Markdown: one page per heading-delimited section (ATX "# x" and setext "x\\n===" headings, not inside code)."""
from __future__ import annotations

import re

from ingest.documents import Page, SectionStart
from ingest.parse.content import DocumentContent
from ingest.parse.normalize import normalize_text

_ATX_HEADING = re.compile(r"^ {0,3}(?P<hashes>#{1,6})(?:[ \t]+(?P<title>.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?P<marks>=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
_FRONT_MATTER_TITLE = re.compile(r"^title:\s*(?P<title>.+?)\s*$", re.IGNORECASE)


def parse_markdown(text: str) -> DocumentContent:
    """Pages split at headings; each page's section is its heading; the title is the front matter's or first h1."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    front_matter_end, title = _front_matter(lines)
    headings = _find_headings(lines, front_matter_end)
    if title is None:
        title = next((heading_title for _, level, heading_title in headings if level == 1), None)

    page_starts = [line for line, _, _ in headings]
    if not page_starts or page_starts[0] > 0:
        page_starts.insert(0, 0)
    page_titles = {line: heading_title for line, _, heading_title in headings}
    pages, sections = [], []
    for first, end in zip(page_starts, page_starts[1:] + [len(lines)]):
        page_text = normalize_text("\n".join(lines[first:end]))
        if not page_text and first not in page_titles:
            continue  # nothing before the first heading
        number = len(pages) + 1
        pages.append(Page(number=number, label=str(number), text=page_text))
        if first in page_titles:
            sections.append(SectionStart(number, 0, page_titles[first]))
    return DocumentContent(title=title, pages=pages, sections=sections)


def _find_headings(lines: list[str], first_line: int) -> list[tuple[int, int, str]]:
    """(line index, level, title) of each heading outside fenced code blocks."""
    headings = []
    open_fence = None
    for index in range(first_line, len(lines)):
        line = lines[index]
        fence = _FENCE.match(line)
        if open_fence:
            if fence and fence.group("fence")[0] == open_fence[0] and len(fence.group("fence")) >= len(open_fence):
                open_fence = None
            continue
        if fence:
            open_fence = fence.group("fence")
            continue
        atx = _ATX_HEADING.match(line)
        if atx:
            title = (atx.group("title") or "").strip()
            if title:
                headings.append((index, len(atx.group("hashes")), title))
            continue
        underline = _SETEXT_UNDERLINE.match(line)
        previous = lines[index - 1] if index > first_line else ""
        if underline and _can_be_setext_title(previous) and (not headings or headings[-1][0] != index - 1):
            level = 1 if underline.group("marks")[0] == "=" else 2
            headings.append((index - 1, level, previous.strip()))
    return headings


def _can_be_setext_title(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not line.startswith("    ") and not stripped.startswith(("-", "*", "+", ">", "|"))


def _front_matter(lines: list[str]) -> tuple[int, str | None]:
    """(index of the first line after a YAML front matter block, its title); (0, None) without one."""
    if not lines or lines[0].strip() != "---":
        return 0, None
    title = None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return index + 1, title
        match = _FRONT_MATTER_TITLE.match(lines[index])
        if match and title is None:
            title = match.group("title").strip("\"'")
    return 0, None
