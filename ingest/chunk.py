"""A parsed document -> its token list and fixed token windows (chunks), each mapped back to characters and pages.

Chunk i covers tokens [i * chunk_tokens, (i + 1) * chunk_tokens): exactly the windows the model embeds, so
they are never shifted to fit text. A character belongs to the chunk holding its first UTF-8 byte, hence the
chunks' texts concatenate to the full text even when a token splits a character (emoji, CJK).
"""
from __future__ import annotations

import bisect
from functools import lru_cache

import numpy as np

from ingest.documents import Chunk, ParsedDocument


def default_tokenizer():
    """The model's tokenizer (tiktoken cl100k_base, loaded offline by nonattn_core)."""
    from nonattn_core import Tokenizer  # imported late: parsing must not pull in torch

    return Tokenizer()


def chunk_document(
    doc: ParsedDocument, tokenizer, chunk_tokens: int = 256, overlap_tokens: int = 0
) -> tuple[list[int], list[Chunk]]:
    """Tokenize the full text once and cut it into chunk_tokens windows (the last may be shorter).

    tokenizer: the model's Tokenizer (its `.encode`, and `.encoding` for token byte lengths) or a bare tiktoken
    Encoding (then `encode_ordinary`: special-token strings in documents are plain text). overlap_tokens only
    fills each chunk's context_text with the text of the tokens just before it; windows never overlap.
    """
    if chunk_tokens < 1 or overlap_tokens < 0:
        raise ValueError(f"need chunk_tokens >= 1 and overlap_tokens >= 0, got {chunk_tokens}, {overlap_tokens}")
    encoding = getattr(tokenizer, "encoding", tokenizer)
    encode = tokenizer.encode if encoding is not tokenizer else encoding.encode_ordinary
    text = doc.full_text()
    tokens = list(encode(text))
    char_at_token = _token_char_offsets(text, tokens, encoding)

    page_starts = [start for start, _ in doc.page_offsets()]
    section_starts = doc.section_offsets()
    section_positions = [offset for offset, _ in section_starts]
    chunks = []
    for index, token_start in enumerate(range(0, len(tokens), chunk_tokens)):
        token_end = min(token_start + chunk_tokens, len(tokens))
        char_start, char_end = int(char_at_token[token_start]), int(char_at_token[token_end])
        context_start = int(char_at_token[max(token_start - overlap_tokens, 0)])
        first_page = doc.pages[_page_index(page_starts, char_start)]
        last_page = doc.pages[_page_index(page_starts, max(char_end - 1, char_start))]
        section = _section_at(section_starts, section_positions, char_start, char_end, first_page.section)
        chunks.append(
            Chunk(
                index=index,
                text=text[char_start:char_end],
                context_text=text[context_start:char_start],
                token_start=token_start,
                token_end=token_end,
                char_start=char_start,
                char_end=char_end,
                page_start=first_page.number,
                page_end=last_page.number,
                page_label_start=first_page.label,
                page_label_end=last_page.label,
                section=section,
                inner_sections=sections_inside(section_starts, section_positions, char_start, char_end, section),
            )
        )
    return tokens, chunks


def _token_char_offsets(text: str, tokens: list[int], encoding) -> np.ndarray:
    """Character offset where each token starts (the token holding a character's first byte owns it),
    plus len(text) at the end: an array of len(tokens) + 1."""
    utf8 = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    token_bytes = _token_byte_lengths(encoding)[np.asarray(tokens, dtype=np.int64)]
    byte_at_token = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(token_bytes, out=byte_at_token[1:])
    if byte_at_token[-1] != len(utf8):
        raise RuntimeError("token byte lengths do not add up to the text's UTF-8 length")
    # chars_before_byte[b] = number of characters starting before byte b (continuation bytes are 10xxxxxx)
    chars_before_byte = np.zeros(len(utf8) + 1, dtype=np.int64)
    np.cumsum((utf8 & 0xC0) != 0x80, out=chars_before_byte[1:])
    return chars_before_byte[byte_at_token]


@lru_cache(maxsize=4)
def _token_byte_lengths(encoding) -> np.ndarray:
    """Byte length of every token id of the encoding (0 for unused ids)."""
    lengths = np.zeros(encoding.n_vocab, dtype=np.int64)
    for token in range(encoding.n_vocab):
        try:
            lengths[token] = len(encoding.decode_single_token_bytes(token))
        except KeyError:  # gaps in the id space (before the special tokens)
            pass
    return lengths


def _page_index(page_starts: list[int], char_offset: int) -> int:
    """Index of the page whose text (or following separator) holds char_offset."""
    return max(bisect.bisect_right(page_starts, char_offset) - 1, 0)


def sections_inside(section_starts, section_positions, char_start: int, char_end: int,
                    in_force: str | None) -> list[tuple[int, str]]:
    """(offset from char_start, title) where the section changes inside (char_start, char_end), starting from the
    section `in_force` at char_start (a repeated title is no change)."""
    first = bisect.bisect_right(section_positions, char_start)
    last = bisect.bisect_left(section_positions, char_end)
    changes = []
    for position, title in section_starts[first:last]:
        if title != in_force:
            changes.append((position - char_start, title))
            in_force = title
    return changes


def _section_at(section_starts, section_positions, char_start: int, char_end: int, page_section: str | None):
    """Section in force at char_start, else the first one starting inside [char_start, char_end),
    else the page's section (documents built without section offsets)."""
    if not section_starts:
        return page_section
    in_force = bisect.bisect_right(section_positions, char_start) - 1
    if in_force >= 0:
        return section_starts[in_force][1]
    if section_positions[0] < char_end:
        return section_starts[0][1]
    return None
