"""Chunking: fixed token windows, every character in exactly one chunk, pages, labels, sections, context."""
from __future__ import annotations

import pytest

from ingest.chunk import chunk_document
from ingest.documents import Page, ParsedDocument, SectionStart
from ingest.parse import parse_file

MIXED_TEXT = (
    "Plain ASCII first. Ünïcödé àccents, emoji 😀👍🏽 and a family 👨‍👩‍👧‍👦, "
    "CJK 日本語の文章と中文句子, Hangul 한국어, math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∑∫, combining e\u0301 and a stray <|endoftext|>."
)


def _document(page_texts, labels=None, sections=(), page_sections=None) -> ParsedDocument:
    pages = [
        Page(
            number=number,
            label=(labels or {}).get(number, str(number)),
            text=text,
            section=(page_sections or {}).get(number),
        )
        for number, text in enumerate(page_texts, 1)
    ]
    return ParsedDocument("/tmp/doc.txt", "0" * 64, "txt", "doc", pages, list(sections))


def _assert_chunks_tile_the_text(doc, tokens, chunks, chunk_tokens):
    text = doc.full_text()
    assert "".join(chunk.text for chunk in chunks) == text
    assert [(chunk.token_start, chunk.token_end) for chunk in chunks] == [
        (start, min(start + chunk_tokens, len(tokens))) for start in range(0, len(tokens), chunk_tokens)
    ]
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    assert chunks[0].char_start == 0 and chunks[-1].char_end == len(text)
    for before, after in zip(chunks, chunks[1:]):
        assert before.char_end == after.char_start
    for chunk in chunks:
        assert text[chunk.char_start:chunk.char_end] == chunk.text
        assert chunk.page_start <= chunk.page_end


@pytest.mark.parametrize("chunk_tokens", [1, 2, 3, 5, 8, 256])
def test_chunks_tile_non_ascii_text_exactly(tokenizer, chunk_tokens):
    doc = _document([MIXED_TEXT, "Second page 第二页 🎉", MIXED_TEXT[::-1]])
    tokens, chunks = chunk_document(doc, tokenizer, chunk_tokens=chunk_tokens)
    assert tokens == tokenizer.encode(doc.full_text())
    _assert_chunks_tile_the_text(doc, tokens, chunks, chunk_tokens)


def test_a_bare_tiktoken_encoding_chunks_the_same(tokenizer):
    doc = _document([MIXED_TEXT])
    assert chunk_document(doc, tokenizer.encoding, chunk_tokens=7) == chunk_document(doc, tokenizer, chunk_tokens=7)


def test_a_character_belongs_to_the_chunk_holding_its_first_byte(tokenizer):
    doc = _document(["😀"])  # one character that cl100k_base splits over several tokens
    tokens, chunks = chunk_document(doc, tokenizer, chunk_tokens=1)
    assert len(tokens) > 1
    assert [chunk.text for chunk in chunks] == ["😀"] + [""] * (len(tokens) - 1)


def test_page_numbers_and_labels_follow_the_characters(tokenizer):
    pages = [" ".join(f"w{page}_{word}" for word in range(120)) for page in range(4)]
    doc = _document(pages, labels={1: "i", 2: "ii", 3: "1", 4: "2"})
    tokens, chunks = chunk_document(doc, tokenizer, chunk_tokens=50)
    offsets = doc.page_offsets()
    for chunk in chunks:
        first = next(number for number, (start, end) in enumerate(offsets, 1) if chunk.char_start < end + 2)
        last = next(number for number, (start, end) in enumerate(offsets, 1) if chunk.char_end - 1 < end + 2)
        assert (chunk.page_start, chunk.page_end) == (first, last)
        assert chunk.page_label_start == doc.pages[first - 1].label
        assert chunk.page_label_end == doc.pages[last - 1].label
    assert {chunk.page_label_start for chunk in chunks} == {"i", "ii", "1", "2"}
    assert any(chunk.page_start < chunk.page_end for chunk in chunks)


def test_overlap_only_fills_the_context(tokenizer):
    doc = _document([MIXED_TEXT * 3])
    plain_tokens, plain = chunk_document(doc, tokenizer, chunk_tokens=16)
    tokens, chunks = chunk_document(doc, tokenizer, chunk_tokens=16, overlap_tokens=5)
    assert tokens == plain_tokens
    assert [chunk.text for chunk in chunks] == [chunk.text for chunk in plain]
    assert chunks[0].context_text == "" and all(chunk.context_text == "" for chunk in plain)
    for chunk in chunks[1:]:
        expected = tokenizer.decode_bytes(tokens[chunk.token_start - 5:chunk.token_start])
        assert doc.full_text()[:chunk.char_start].endswith(chunk.context_text)
        # the context is those 5 tokens' text, give or take a character split across the window edges
        assert abs(len(chunk.context_text.encode()) - len(expected)) <= 4


def test_sections_in_force_first_inside_or_from_the_page(tokenizer):
    body = "Opening words. " * 20 + "HEADING ONE " + "more words. " * 40
    doc = _document([body], sections=[SectionStart(1, body.index("HEADING ONE"), "One")])
    _, chunks = chunk_document(doc, tokenizer, chunk_tokens=20)
    heading_at = body.index("HEADING ONE")
    for chunk in chunks:
        if chunk.char_start >= heading_at or chunk.char_start <= heading_at < chunk.char_end:
            assert chunk.section == "One"
        else:
            assert chunk.section is None
    without_offsets = _document(["a b c " * 50, "d e f " * 50], page_sections={2: "Page Two"})
    _, chunks = chunk_document(without_offsets, tokenizer, chunk_tokens=30)
    assert [chunk.section for chunk in chunks if chunk.page_start == 2][-1] == "Page Two"


def test_empty_document_and_bad_arguments(tokenizer):
    assert chunk_document(_document([""]), tokenizer) == ([], [])
    with pytest.raises(ValueError):
        chunk_document(_document(["x"]), tokenizer, chunk_tokens=0)


def test_real_play_chunks_point_at_their_scene(tokenizer, macbeth_txt):
    doc = parse_file(macbeth_txt)
    tokens, chunks = chunk_document(doc, tokenizer, chunk_tokens=256, overlap_tokens=32)
    _assert_chunks_tile_the_text(doc, tokens, chunks, 256)
    spot = next(chunk for chunk in chunks if "Out, damned spot!" in chunk.text)
    assert spot.section == "ACT V, SCENE I. Dunsinane. A Room in the Castle"
    page = next(page for page in doc.pages if "Out, damned spot!" in page.text)
    assert spot.page_start <= page.number <= spot.page_end


def test_real_manual_chunks_carry_printed_labels(tokenizer, r_intro_document):
    doc = r_intro_document
    tokens, chunks = chunk_document(doc, tokenizer, chunk_tokens=256)
    _assert_chunks_tile_the_text(doc, tokens, chunks, 256)
    chunk = next(chunk for chunk in chunks if "interlocking suite" in chunk.text)
    assert 59 <= chunk.page_start <= 61 and chunk.page_label_start == str(chunk.page_start - 6)  # where it starts
    assert chunk.page_end == 61 and chunk.page_label_end == "55"


def test_sections_starting_inside_a_chunk_are_listed_at_their_offsets(tokenizer):
    body = "HEADING ONE " + "first part words. " * 30 + "HEADING TWO " + "second part words. " * 30
    starts = [SectionStart(1, 0, "One"), SectionStart(1, body.index("HEADING TWO"), "Two")]
    _, chunks = chunk_document(_document([body], sections=starts), tokenizer, chunk_tokens=64)
    holder = next(c for c in chunks if c.char_start < body.index("HEADING TWO") < c.char_end)
    assert holder.section == "One" and [title for _, title in holder.inner_sections] == ["Two"]
    assert holder.text[holder.inner_sections[0][0]:].startswith("HEADING TWO")
    assert all(not c.inner_sections for c in chunks if c is not holder)
