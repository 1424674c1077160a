"""HTML/XHTML markup -> plain text blocks (paragraphs, headings), with the standard library's html.parser."""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from ingest.parse.decode import decode_text

_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "math"})
_BLOCK_TAGS = frozenset(
    """
    p div li ul ol dl dt dd tr table thead tbody tfoot caption section article aside header footer nav main
    blockquote pre hr figure figcaption address form fieldset details summary body html h1 h2 h3 h4 h5 h6
    """.split()
)
_HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}
_CELL_TAGS = frozenset({"td", "th"})
_DECLARED_CHARSET = re.compile(rb"""(?:charset|encoding)\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# A link within the page whose whole text is one of these is a permalink that generators put after each heading and
# definition (Sphinx and MkDocs '¶', texinfo '¶', others '§', '#'): no reader's text, and 'Lists¶' made a poor title
_PERMALINK_MARKS = frozenset({"¶", "§", "#", "🔗"})
# Navigation is not the page's text: a generated manual repeats its sidebar's contents, 'Previous topic' and 'Next
# topic' on every page, which then outranked the sections they name
_NAVIGATION_ROLES = frozenset({"navigation", "search"})


@dataclass
class TextBlock:
    """A paragraph-like piece of text; heading_level is 1-6 for h1-h6, else None."""

    text: str
    heading_level: int | None = None


@dataclass
class HtmlText:
    """What a page of HTML says: its <title> and its text blocks in reading order."""

    title: str | None
    blocks: list[TextBlock] = field(default_factory=list)

    def text(self) -> str:
        """All blocks, separated by blank lines."""
        return "\n\n".join(block.text for block in self.blocks)


def html_to_text(markup: str) -> HtmlText:
    """Visible text of an HTML document, one block per paragraph, heading or list item."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return HtmlText(title=parser.title, blocks=parser.blocks)


def decode_html(data: bytes, source: object) -> str:
    """Decode HTML bytes using a byte-order mark or the declared charset, else the text heuristics."""
    if not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        declared = _DECLARED_CHARSET.search(data[:4096])
        if declared:
            try:
                return data.decode(declared.group(1).decode("ascii").lower(), "replace")
            except LookupError:  # an unknown charset name: fall back to guessing
                pass
    return decode_text(data, source)


class _TextExtractor(HTMLParser):
    """Collects text blocks; whitespace collapsed except inside <pre>; <br> kept as a line break."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title: str | None = None
        self.blocks: list[TextBlock] = []
        self._lines: list[list[str]] = [[]]
        self._heading_level: int | None = None
        self._skip_depth = 0
        self._pre_depth = 0
        self._in_title = False
        self._title_parts: list[str] = []
        self._link_text: list[str] | None = None    # the text so far of a link within the page
        self._navigation: list[str] = []            # the open elements of the navigation being skipped

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self._navigation or tag == "nav" or attributes.get("role") in _NAVIGATION_ROLES:
            self._navigation.append(tag)            # its text is not the page's
        elif tag == "a" and (attributes.get("href") or "").startswith("#"):
            self._end_link()                        # links do not nest; an unclosed one ends here
            self._link_text = []
        elif tag == "title" and self.title is None and not self._skip_depth:
            self._in_title = True
        elif tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self._line_break()
        elif tag in _CELL_TAGS:
            self._lines[-1].append(" ")
        elif tag in _BLOCK_TAGS:
            self._end_block()
            self._heading_level = _HEADING_LEVELS.get(tag)
            if tag == "pre":
                self._pre_depth += 1

    def handle_startendtag(self, tag, attrs):
        if self._navigation:
            return
        if tag == "br":
            self._line_break()
        elif tag in _BLOCK_TAGS:
            self._end_block()

    def _line_break(self):
        self._end_link()                            # a link's text before the break stays before it
        self._lines.append([])

    def handle_endtag(self, tag):
        if self._navigation:
            if tag in self._navigation:             # closes its element (and any left unclosed inside it)
                while self._navigation.pop() != tag:
                    pass
            if tag not in ("body", "html"):
                return
            self._navigation.clear()                # navigation never closed: the page's end ends it
        if tag == "a":
            self._end_link()
        elif tag == "title" and self._in_title:
            self._in_title = False
            self.title = " ".join("".join(self._title_parts).split()) or None
        elif tag in _SKIPPED_TAGS:
            self._skip_depth = max(self._skip_depth - 1, 0)
        elif tag in _BLOCK_TAGS:
            self._end_block()
            if tag == "pre":
                self._pre_depth = max(self._pre_depth - 1, 0)

    def handle_data(self, data):
        if self._in_title:
            self._title_parts.append(data)
        elif not self._skip_depth and not self._navigation:
            (self._link_text if self._link_text is not None else self._lines[-1]).append(data)

    def _end_link(self):
        """The link within the page ends: its text joins the line unless it is a permalink mark."""
        if self._link_text is not None:
            text, self._link_text = "".join(self._link_text), None
            if text.strip() not in _PERMALINK_MARKS:
                self._lines[-1].append(text)

    def close(self):
        super().close()
        self._end_block()

    def _end_block(self):
        self._end_link()                            # a block inside a link: its text so far stays where it was
        if self._pre_depth:
            text = "\n".join("".join(line) for line in self._lines).strip("\n")
        else:
            lines = (" ".join("".join(line).split()) for line in self._lines)
            text = "\n".join(line for line in lines if line)
        if text.strip():
            self.blocks.append(TextBlock(text, self._heading_level))
        self._lines = [[]]
        self._heading_level = None
