"""EPUB: books assembled by the tests with zipfile (EPUB 3 nav and EPUB 2 NCX), and hostile archives."""
from __future__ import annotations

import zipfile

import pytest

from ingest.errors import IngestError
from ingest.parse import parse_file
from ingest.parse import epub as epub_module

CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""

CHAPTERS = [  # (file inside OEBPS/, body[, media type: body stored as is]); spine order is cover, ch2, ch1 to check that the spine wins
    ("cover.xhtml", "<p>The Cover</p>"),
    ("text/ch2.xhtml", "<h1>Second</h1><p>Two &amp; more.</p><script>nope()</script>"),
    ("text/ch1.xhtml", "<h1>First</h1><p>One.</p><p>Also one.</p>"),
]
TOC = [("text/ch2.xhtml", "Chapter Two"), ("text/ch2.xhtml#part", "Part of two"), ("text/ch1.xhtml#top", "Chapter One")]


def write_epub(path, chapters=CHAPTERS, toc=TOC, toc_kind="nav", title="A Test Book", extra_members=()):
    manifest = [
        f'<item id="c{i}" href="{name}" media-type="{media[0] if media else "application/xhtml+xml"}"/>'
        for i, (name, _, *media) in enumerate(chapters)
    ]
    if toc_kind == "nav":
        manifest.append('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>')
    elif toc_kind == "ncx":
        manifest.append('<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    opf = f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title></metadata>
  <manifest>{"".join(manifest)}</manifest>
  <spine{' toc="ncx"' if toc_kind == "ncx" else ""}>{spine}</spine>
</package>"""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", CONTAINER)
        archive.writestr("OEBPS/content.opf", opf)
        for name, body, *media in chapters:
            archive.writestr(f"OEBPS/{name}", body if media else _xhtml(body))
        if toc_kind == "nav":
            links = "".join(f'<li><a href="{href}">{label}</a></li>' for href, label in toc)
            archive.writestr("OEBPS/nav.xhtml", _xhtml(f'<nav epub:type="toc"><ol>{links}</ol></nav>'))
        elif toc_kind == "ncx":
            points = "".join(
                f'<navPoint id="p{i}"><navLabel><text>{label}</text></navLabel><content src="{href}"/></navPoint>'
                for i, (href, label) in enumerate(toc)
            )
            archive.writestr(
                "OEBPS/toc.ncx", f'<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap>{points}</navMap></ncx>'
            )
        for name, data in extra_members:
            archive.writestr(name, data)
    return path


def _xhtml(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" '
        f'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>t</title></head><body>{body}</body></html>'
    )


@pytest.mark.parametrize("toc_kind", ["nav", "ncx"])
def test_spine_order_text_and_toc_sections(tmp_path, toc_kind):
    doc = parse_file(write_epub(tmp_path / "book.epub", toc_kind=toc_kind))
    assert doc.format == "epub" and doc.title == "A Test Book"
    assert [(page.number, page.label, page.text) for page in doc.pages] == [
        (1, "1", "The Cover"),
        (2, "2", "Second\n\nTwo & more."),
        (3, "3", "First\n\nOne.\n\nAlso one."),
    ]
    assert [page.section for page in doc.pages] == [None, "Chapter Two", "Chapter One"]


def test_epub_without_toc_and_a_chapter_split_over_files(tmp_path):
    chapters = CHAPTERS + [("text/ch1b.xhtml", "<p>Rest of one.</p>")]
    doc = parse_file(write_epub(tmp_path / "book.epub", chapters=chapters, toc_kind="nav"))
    assert doc.pages[3].section == "Chapter One"  # carried over from the file before
    no_toc = parse_file(write_epub(tmp_path / "plain.epub", toc_kind=None))
    assert [page.section for page in no_toc.pages] == [None, None, None]


def test_image_in_the_spine_is_an_empty_page(tmp_path):
    chapters = [("images/cover.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00binary", "image/jpeg")] + CHAPTERS[1:]
    doc = parse_file(write_epub(tmp_path / "illustrated.epub", chapters=chapters))
    assert [page.text for page in doc.pages] == ["", "Second\n\nTwo & more.", "First\n\nOne.\n\nAlso one."]


def test_zip_bomb_is_refused_before_decompressing(tmp_path):
    zeros = ("OEBPS/zeros.xhtml", b"\0" * (20 * 1024 * 1024))  # 20 MB that deflate to ~20 kB
    path = write_epub(tmp_path / "bomb.epub", extra_members=[zeros])
    with pytest.raises(IngestError, match="zip bomb"):
        parse_file(path)


def test_total_uncompressed_size_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(epub_module, "MAX_TOTAL_UNCOMPRESSED_BYTES", 1000)
    with pytest.raises(IngestError, match="decompress to .* over the limit"):
        parse_file(write_epub(tmp_path / "big.epub"))


def test_drm_protected_epub(tmp_path):
    encryption = (
        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData>'
        '<enc:CipherReference URI="OEBPS/text/ch1.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>'
    )
    path = write_epub(tmp_path / "drm.epub", extra_members=[("META-INF/encryption.xml", encryption)])
    with pytest.raises(IngestError, match="DRM"):
        parse_file(path)


def test_truncated_epub(tmp_path):
    data = write_epub(tmp_path / "whole.epub").read_bytes()
    path = tmp_path / "cut.epub"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="corrupt ZIP"):
        parse_file(path)


def test_epub_that_is_not_a_zip(tmp_path):
    path = tmp_path / "fake.epub"
    path.write_text("just text pretending")
    with pytest.raises(IngestError, match="not a valid EPUB"):
        parse_file(path)


def test_epub_with_broken_package_document(tmp_path):
    path = tmp_path / "broken.epub"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr("META-INF/container.xml", CONTAINER)
        archive.writestr("OEBPS/content.opf", "<package><manifest>")
    with pytest.raises(IngestError, match="content.opf is not well-formed XML"):
        parse_file(path)


def test_epub_with_empty_spine(tmp_path):
    with pytest.raises(IngestError, match="empty spine"):
        parse_file(write_epub(tmp_path / "empty.epub", chapters=[], toc=[]))
