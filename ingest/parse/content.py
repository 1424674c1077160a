"""What every format parser returns, and the rule that gives each page its section."""
from __future__ import annotations

from dataclasses import dataclass, field

from ingest.documents import Page, SectionStart


@dataclass
class DocumentContent:
    """A parser's findings: the title the file declares (None if none), its pages and where sections start."""

    title: str | None
    pages: list[Page]
    sections: list[SectionStart] = field(default_factory=list)


def fill_page_sections(pages: list[Page], sections: list[SectionStart]) -> None:
    """Set each page's section to the last section starting on or before that page (None before the first)."""
    ordered = sorted(sections, key=lambda section: (section.page_number, section.offset))
    next_section = 0
    current = None
    for page in pages:
        while next_section < len(ordered) and ordered[next_section].page_number <= page.number:
            current = ordered[next_section].title
            next_section += 1
        page.section = current
