"""Markdown: pages split at headings, headings as sections, code blocks left alone."""
from __future__ import annotations

from ingest.parse import parse_file
from ingest.parse.markdown import parse_markdown

GUIDE = """\
Some words before any heading.

# The Guide

Intro text.

## Install #

Run it:

```bash
# not a heading: a shell comment inside a code block
make install
```

Setext Heading
--------------

Body of the setext section.

###### Deep heading
deep text
"""


def test_pages_split_at_headings():
    content = parse_markdown(GUIDE)
    assert content.title == "The Guide"
    assert [page.text.split("\n")[0] for page in content.pages] == [
        "Some words before any heading.",
        "# The Guide",
        "## Install #",
        "Setext Heading",
        "###### Deep heading",
    ]
    assert [(section.page_number, section.title) for section in content.sections] == [
        (2, "The Guide"),
        (3, "Install"),
        (4, "Setext Heading"),
        (5, "Deep heading"),
    ]
    assert "make install" in content.pages[2].text


def test_front_matter_title_and_no_false_setext_heading():
    content = parse_markdown("---\ntitle: \"From Front Matter\"\nauthor: me\n---\n\nText.\n\n# First\n\nMore.\n")
    assert content.title == "From Front Matter"
    assert [section.title for section in content.sections] == ["First"]


def test_markdown_file_pages_carry_their_section(tmp_path):
    path = tmp_path / "notes.markdown"
    path.write_text("Preamble.\n\n# Alpha\n\na text\n\n## Beta\n\nb text\n", encoding="utf-8")
    doc = parse_file(path)
    assert doc.format == "md"
    assert [(page.number, page.label, page.section) for page in doc.pages] == [
        (1, "1", None),
        (2, "2", "Alpha"),
        (3, "3", "Beta"),
    ]
    assert doc.title == "Alpha"


def test_markdown_without_headings_is_one_page(tmp_path):
    path = tmp_path / "plain.md"
    path.write_text("just a paragraph\n\nand another\n")
    doc = parse_file(path)
    assert [page.text for page in doc.pages] == ["just a paragraph\n\nand another"]
    assert doc.title == "plain"
