"""HTML: the <title>, and one page per h1-h3 section of the visible text."""
from __future__ import annotations

from ingest.documents import Page, SectionStart
from ingest.parse.content import DocumentContent
from ingest.parse.htmltext import TextBlock, html_to_text
from ingest.parse.normalize import normalize_text

SECTION_HEADING_LEVELS = (1, 2, 3)


def parse_html(markup: str) -> DocumentContent:
    """Pages split before each h1-h3 heading; each page's section is its heading."""
    extracted = html_to_text(markup)
    groups: list[list[TextBlock]] = [[]]
    for block in extracted.blocks:
        if block.heading_level in SECTION_HEADING_LEVELS and groups[-1]:
            groups.append([])
        groups[-1].append(block)

    pages, sections = [], []
    for number, blocks in enumerate((group for group in groups if group), 1):
        text = normalize_text("\n\n".join(block.text for block in blocks))
        pages.append(Page(number=number, label=str(number), text=text))
        if blocks[0].heading_level in SECTION_HEADING_LEVELS:
            sections.append(SectionStart(number, 0, " ".join(blocks[0].text.split())))
    title = extracted.title or next((block.text for block in extracted.blocks if block.heading_level == 1), None)
    return DocumentContent(title=title, pages=pages, sections=sections)
