"""Bytes of a text file -> str: BOMs, UTF-16 without BOM, UTF-8, then Windows-1252 / Latin-1; binary refused."""
from __future__ import annotations

import codecs
import re

from ingest.errors import IngestError

_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SAMPLE_BYTES = 65536
_BINARY_CONTROL_BYTES = bytes(byte for byte in range(32) if byte not in b"\t\n\r\f\v\x1b")
_ASCII_BYTES = bytes(range(128))
_MAX_CONTROL_RATIO = 0.05
_MAX_BAD_UTF8_RATIO = 0.02  # undecodable share of non-ASCII bytes still read as damaged UTF-8
_BINARY_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_BINARY_MESSAGE = "looks like a binary file, not text (NUL or control bytes)"


def decode_text(data: bytes, source: object) -> str:
    """Decode a text file's bytes, raising IngestError only when they are really binary."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_wide(data[len(bom):], encoding, source)
    utf16 = _utf16_without_bom(data[:_SAMPLE_BYTES])
    if utf16:
        return _decode_wide(data, utf16, source)
    if looks_binary(data):
        raise IngestError(source, _BINARY_MESSAGE)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        return data.decode("utf-8", "replace")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined (0x81, 0x8d, ...): Latin-1 maps everything
        return data.decode("latin-1")


def looks_binary(data: bytes) -> bool:
    """True when the start of the data has NUL bytes or many control bytes."""
    sample = data[:_SAMPLE_BYTES]
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _BINARY_CONTROL_BYTES))
    return controls > _MAX_CONTROL_RATIO * max(len(sample), 1)


def _decode_wide(data: bytes, encoding: str, source: object) -> str:
    """Decode with an encoding a BOM or NUL pattern announced, then make sure the result reads as text."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise IngestError(source, f"not valid {encoding} text ({error.reason})") from None
    sample = text[:_SAMPLE_BYTES]
    if len(_BINARY_CONTROL_CHARACTERS.findall(sample)) > _MAX_CONTROL_RATIO * max(len(sample), 1):
        raise IngestError(source, _BINARY_MESSAGE)
    return text


def _utf16_without_bom(sample: bytes) -> str | None:
    """Mostly-ASCII UTF-16 shows NUL in every other byte: 'utf-16-le'/'utf-16-be', or None."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with a few damaged bytes (a cut-off last character, a stray byte) rather than a legacy encoding."""
    text = data.decode("utf-8", "replace")
    damaged = text.count("\ufffd") - data.decode("utf-8", "ignore").count("\ufffd")
    non_ascii_bytes = len(data.translate(None, _ASCII_BYTES))
    non_ascii_chars = len(text) - len(text.encode("ascii", "ignore")) - damaged
    return non_ascii_chars > 0 and damaged <= _MAX_BAD_UTF8_RATIO * non_ascii_bytes
