"""The records that flow from parsing to chunking: pages, parsed documents and chunks."""
from __future__ import annotations

from dataclasses import dataclass, field

PAGE_SEPARATOR = "\n\n"


@dataclass
class Page:
    """One physical page (or, for formats without pages, one section or slice) of a document."""

    number: int  # physical page index, 1-based (non-paginated formats: 1-based part index)
    label: str  # printed page label ("xii", "37"); str(number) where the document has none
    text: str
    section: str | None = None  # chapter/section title in force on this page


@dataclass
class SectionStart:
    """Where a chapter or section begins: its page, its character offset inside that page's text, its title."""

    page_number: int
    offset: int
    title: str


@dataclass
class ParsedDocument:
    """A whole document as text, page by page; its full text is the pages joined by a blank line."""

    source: str  # absolute path as given
    doc_id: str  # sha256 hex of the file bytes
    format: str  # "pdf" | "epub" | "txt" | "md" | "html"
    title: str
    pages: list[Page]
    sections: list[SectionStart] = field(default_factory=list)  # in document order

    def full_text(self) -> str:
        """The document's text: every page's text, separated by a blank line."""
        return PAGE_SEPARATOR.join(page.text for page in self.pages)

    def page_offsets(self) -> list[tuple[int, int]]:
        """(char_start, char_end) of each page's text inside full_text()."""
        offsets = []
        start = 0
        for page in self.pages:
            end = start + len(page.text)
            offsets.append((start, end))
            start = end + len(PAGE_SEPARATOR)
        return offsets

    def section_offsets(self) -> list[tuple[int, str]]:
        """(char offset in full_text(), title) of each section start, sorted by offset."""
        page_starts = {page.number: start for page, (start, _) in zip(self.pages, self.page_offsets())}
        starts = [
            (page_starts[section.page_number] + section.offset, section.title)
            for section in self.sections
            if section.page_number in page_starts
        ]
        return sorted(starts, key=lambda start: start[0])


@dataclass
class Chunk:
    """One fixed token window of a document, with the character span and pages it covers."""

    index: int
    text: str  # the chunk's own characters; the chunks' texts concatenate to the full text
    context_text: str  # text of the overlap tokens just before the chunk ("" without overlap)
    token_start: int  # [token_start, token_end) in the document's token list
    token_end: int
    char_start: int  # [char_start, char_end) in ParsedDocument.full_text()
    char_end: int
    page_start: int  # physical page numbers
    page_end: int
    page_label_start: str
    page_label_end: str
    section: str | None  # section in force at the chunk start, else the first one starting inside it
    inner_sections: list[tuple[int, str]] = field(default_factory=list)  # (offset in text, title) of later starts
