"""Project Gutenberg files: the book is parsed without the header and licence around it (ingest.parse.gutenberg)."""
from __future__ import annotations

from ingest.parse import parse_file
from ingest.parse.gutenberg import book_text

HEADER = """The Project Gutenberg EBook of The Lighthouse Keeper, by A. N. Author

This eBook is for the use of anyone anywhere at no cost and with
almost no restrictions whatsoever.


Title: The Lighthouse Keeper

Author: A. N. Author

*** START OF THIS PROJECT GUTENBERG EBOOK THE LIGHTHOUSE KEEPER ***




Produced by A Volunteer and the Online Distributed
Proofreading Team



"""
BOOK = """THE LIGHTHOUSE KEEPER


CHAPTER 1. The Lamp.

The keeper lit the lamp at dusk, as he had done for forty years.


CHAPTER 2. The Storm.

At dawn the boat came in, and the keeper went down to meet it.
"""
FOOTER = """



End of the Project Gutenberg EBook of The Lighthouse Keeper, by A. N. Author

*** END OF THIS PROJECT GUTENBERG EBOOK THE LIGHTHOUSE KEEPER ***

Updated editions will replace the previous one. Please donate to the Project Gutenberg Literary Archive
Foundation; refunds are described in paragraph 1.F.3.
"""


def test_the_book_is_what_lies_between_the_markers_without_the_producers_line():
    text, title = book_text(HEADER + BOOK + FOOTER)
    assert text == BOOK
    assert title == "The Lighthouse Keeper"


def test_a_text_without_the_start_marker_is_left_as_it_is():
    assert book_text(BOOK) == (BOOK, None)


def test_a_parsed_gutenberg_file_has_the_books_title_sections_and_words_only(tmp_path):
    path = tmp_path / "keeper.txt"
    path.write_text(HEADER + BOOK + FOOTER, encoding="utf-8")
    doc = parse_file(path)
    text = "\n".join(page.text for page in doc.pages)
    assert doc.title == "The Lighthouse Keeper"
    assert text.startswith("THE LIGHTHOUSE KEEPER") and text.rstrip().endswith("went down to meet it.")
    assert "Gutenberg" not in text and "donate" not in text
    assert [section.title for section in doc.sections] == ["CHAPTER 1. The Lamp", "CHAPTER 2. The Storm"]
