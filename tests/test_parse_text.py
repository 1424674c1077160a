"""Plain text: page splitting, chapter-like sections, encodings, and real Gutenberg plays."""
from __future__ import annotations

import codecs
import struct

import pytest

from ingest.errors import IngestError
from ingest.parse import parse_file
from ingest.parse.decode import decode_text
from ingest.parse.text import PAGE_CHARS, parse_text, split_into_pages


def test_form_feeds_make_pages(tmp_path):
    path = tmp_path / "paged.txt"
    path.write_text("first page\n\fsecond page\fthird page\n\f")
    doc = parse_file(path)
    assert [(page.number, page.label, page.text) for page in doc.pages] == [
        (1, "1", "first page"),
        (2, "2", "second page"),
        (3, "3", "third page"),
    ]



def test_control_characters_and_ligatures_are_cleaned(tmp_path):
    """A PDF's unmapped glyph comes out as a control character ('\x08' before texinfo's "Note:" boxes): it must
    not reach chunks and answers; tabs and line breaks stay, ligatures are spelled out."""
    path = tmp_path / "controls.txt"
    path.write_text("can be used. \x08 Input \ufb01les\x01\x1b here\x7f.\n\tindented line\n")
    (page,) = parse_file(path).pages
    assert page.text == "can be used.  Input files here.\n\tindented line"

def test_long_text_is_paged_at_paragraph_breaks():
    paragraphs = [f"Paragraph {number}. " + "word " * (40 + number % 17) for number in range(300)]
    text = "\n\n".join(paragraphs)
    pages = split_into_pages(text)
    assert len(pages) > 10
    assert all(PAGE_CHARS // 2 <= len(page) <= PAGE_CHARS for page in pages[:-1])
    assert all(page.startswith("Paragraph ") for page in pages)  # every cut falls between paragraphs
    assert "\n\n".join(pages) == text


def test_text_without_blank_lines_is_paged_at_line_breaks_then_anywhere():
    lines = "\n".join(f"line {number} " + "x" * 50 for number in range(400))
    assert all(page.startswith("line ") for page in split_into_pages(lines))
    one_word = "y" * (PAGE_CHARS * 3)
    assert "".join(split_into_pages(one_word)) == one_word


CHAPTERS = """\
THE BOOK OF TESTS

BOOK II

CHAPTER IV

It was a dark night.
Chapter 12. The Return
He came back in this line, which is not a heading (no blank line before it).

Chapter 12. The Return

Act I think was the best, said the critic.

chapter twenty: Late

ACT III

SCENE II. A room in the castle.

Words.

SCENE: the whole play happens here.

PROLOGUE

ACT 4
SCENE 1
[Enter nobody]
"""


def test_chapter_like_lines_become_sections():
    content = parse_text(CHAPTERS)
    assert content.title == "THE BOOK OF TESTS"
    assert [section.title for section in content.sections] == [
        "BOOK II",
        "BOOK II, CHAPTER IV",
        "BOOK II, Chapter 12. The Return",
        "BOOK II, chapter twenty: Late",
        "BOOK II, ACT III",
        "BOOK II, ACT III, SCENE II. A room in the castle",
        "BOOK II, ACT III, PROLOGUE",
        "BOOK II, ACT 4",
        "BOOK II, ACT 4, SCENE 1",
    ]
    page_text = content.pages[0].text
    assert all(page_text[section.offset:].startswith(section.title.split(", ")[-1]) for section in content.sections)


PROSE_OPENING_LIKE_A_HEADING = """CHAPTER 32. Cetology.

BOOK I. (FOLIO), CHAPTER I. (SPERM WHALE).--This whale, among the
English of old vaguely known as the Trumpa whale, and the Physeter
whale, is the present Cachalot of the French.

SCENE III. A churchyard; in it a Monument belonging to the
Capulets.

CHAPTER 33. The Specksnyder.
"""


def test_a_paragraph_opening_like_a_heading_is_prose_but_a_wrapped_heading_is_one():
    """Moby-Dick's Cetology opens paragraphs with 'BOOK I. (FOLIO), CHAPTER I.': prose running on, not chapters
    (they made every later chapter 'BOOK III, CHAPTER ...'). A heading wrapped onto a second line stays one."""
    titles = [section.title for section in parse_text(PROSE_OPENING_LIKE_A_HEADING).sections]
    assert titles == ["CHAPTER 32. Cetology", "CHAPTER 32, SCENE III. A churchyard; in it a Monument belonging to the",
                      "CHAPTER 33. The Specksnyder"]


def test_macbeth_acts_and_scenes(macbeth_txt):
    doc = parse_file(macbeth_txt)
    assert doc.format == "txt" and doc.title == "MACBETH"
    assert 30 < len(doc.pages) < 45  # ~100 kB in pages of ~3000 characters
    titles = [title for _, title in doc.section_offsets()]
    assert titles[:3] == ["ACT I", "ACT I, SCENE I. An open Place. Thunder and Lightning", "ACT I, SCENE II. A Camp near Forres"]
    assert "ACT V, SCENE VIII. The same. Another part of the field" in titles
    assert len(titles) == 5 + 26  # five acts; this edition marks 26 scenes
    lady = next(page for page in doc.pages if "Out, damned spot!" in page.text)
    assert lady.section == "ACT V, SCENE I. Dunsinane. A Room in the Castle"


@pytest.mark.parametrize(
    "encoded",
    [
        codecs.BOM_UTF8 + "Grüße, naïve café — “quoted”".encode("utf-8"),
        codecs.BOM_UTF16_LE + "Grüße, naïve café — “quoted”".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "Grüße, naïve café — “quoted”".encode("utf-16-be"),
        "Grüße, naïve café — “quoted”".encode("utf-16-le"),  # no BOM
        "Grüße, naïve café — “quoted”".encode("cp1252"),
    ],
    ids=["utf-8-sig", "utf-16-le BOM", "utf-16-be BOM", "utf-16-le no BOM", "cp1252"],
)
def test_text_encodings_are_detected(tmp_path, encoded):
    path = tmp_path / "encoded.txt"
    path.write_bytes(encoded)
    assert parse_file(path).pages[0].text == "Grüße, naïve café — “quoted”"


def test_latin1_bytes_undefined_in_cp1252():
    assert decode_text("caf\xe9 \x81".encode("latin-1"), "x.txt") == "caf\xe9 \x81"


def test_utf8_with_a_cut_off_last_character_stays_utf8():
    data = ("Ünïcödé text " * 20).encode("utf-8") + "€".encode("utf-8")[:2]
    assert decode_text(data, "x.txt").startswith("Ünïcödé text")


@pytest.mark.parametrize(
    "data",
    [bytes(range(256)) * 64, struct.pack("<4000h", *(number % 30 for number in range(4000)))],
    ids=["all byte values", "16-bit samples (NUL in every other byte, like UTF-16)"],
)
def test_binary_file_with_a_text_extension(tmp_path, data):
    path = tmp_path / "image.txt"
    path.write_bytes(data)
    with pytest.raises(IngestError, match="binary"):
        parse_file(path)


def test_control_characters_without_nul_are_binary(tmp_path):
    path = tmp_path / "controls.md"
    path.write_bytes(bytes([1, 2, 3, 4, 65, 66]) * 500)
    with pytest.raises(IngestError, match="binary"):
        parse_file(path)


def test_whitespace_only_text_has_no_text(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text(" \n\n\t \n")
    with pytest.raises(IngestError, match="no text"):
        parse_file(path)
