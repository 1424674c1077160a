"""PDF parsing on real manuals (R-intro.pdf, gnuplot.pdf) and on small PDFs built by the tests."""
from __future__ import annotations

import hashlib
import itertools
import threading

import pytest

from ingest.errors import IngestError
from ingest.parse import PdfFile, iter_pdf_pages, parse_file

# (phrase, physical page, printed label, section in force on that page), read off R-intro.pdf by hand
R_INTRO_PHRASES = [
    ("Table of Contents", 3, "i", None),
    ("The entities R operates on are technically known as objects", 20, "14", "Intrinsic attributes: mode and length"),
    ("R provides an interlocking suite of facilities", 61, "55", "Defining statistical models; formulae"),
    ("Run the specified sub-architecture", 101, "95", "Invoking R from the command line"),
]


@pytest.fixture
def r_intro(r_intro_document):
    return r_intro_document


def test_r_intro_pages_and_labels(r_intro, r_intro_pdf):
    assert r_intro.format == "pdf"
    assert r_intro.title == "R-intro"  # no /Title in its metadata: the file name
    assert r_intro.doc_id == hashlib.sha256(r_intro_pdf.read_bytes()).hexdigest()
    assert [page.number for page in r_intro.pages] == list(range(1, 114))
    assert [page.label for page in r_intro.pages[:8]] == ["T-1", "T-2", "i", "ii", "iii", "iv", "1", "2"]
    assert r_intro.pages[-1].label == "107"


@pytest.mark.parametrize("phrase, number, label, section", R_INTRO_PHRASES)
def test_r_intro_known_phrases(r_intro, phrase, number, label, section):
    holding = [page for page in r_intro.pages if phrase in " ".join(page.text.split())]
    assert [(page.number, page.label, page.section) for page in holding] == [(number, label, section)]


def test_r_intro_sections_come_from_the_outline(r_intro):
    titles = [title for _, title in r_intro.section_offsets()]
    assert titles[:3] == ["Preface", "1 Introduction and preliminaries", "The R environment"]
    assert len(titles) == 145
    assert r_intro.pages[0].section is None  # before the first outline entry
    assert r_intro.pages[6].section == "Preface"


def test_r_intro_section_offsets_point_at_the_headings(r_intro):
    text = r_intro.full_text()
    offsets = dict((title, offset) for offset, title in r_intro.section_offsets())
    assert text[offsets["1 Introduction and preliminaries"]:].startswith("1 Introduction and preliminaries")
    assert text[offsets["The R environment"]:].startswith("1.1 The R environment")
    positions = [offset for offset, _ in r_intro.section_offsets()]
    assert positions == sorted(positions)


def test_gnuplot_pdf_basics(gnuplot_pdf):
    """Structure of the whole file, text of its first pages only (reading all 311 takes seconds)."""
    pdf = PdfFile(gnuplot_pdf.read_bytes(), gnuplot_pdf)
    assert pdf.page_count == 311
    assert pdf.page_labels()[:3] == ["1", "2", "3"]
    outline = pdf.outline_starts()
    assert len(outline) > 600
    assert (21, "Seeking-assistance") in outline  # 0-based page index 21 = physical page 22
    first_pages = list(itertools.islice(pdf.iter_pages(workers=1), 23))
    assert "gnuplot" in first_pages[0].text.lower()
    assert "Seeking-assistance" in first_pages[21].text


def test_built_pdf_text_labels_outline_and_title(make_pdf):
    path = make_pdf(
        ["Cover page", "Chapter One\nIt begins here.", "More of one", "Chapter Two\nThe sequel (with parens)."],
        outline=[("Chapter One", 1, 0), ("Part 1.1", 2, 1), ("Chapter Two", 3, 0)],
        labels=[(0, 0, "/r", None, 1), (1, 3, "/D", "A-", 1)],
        title="A Built Book",
    )
    doc = parse_file(path)
    assert doc.title == "A Built Book"
    assert [page.label for page in doc.pages] == ["i", "A-1", "A-2", "A-3"]
    assert [page.section for page in doc.pages] == [None, "Chapter One", "Part 1.1", "Chapter Two"]
    assert doc.pages[3].text == "Chapter Two\nThe sequel (with parens)."


def test_sequential_and_parallel_reading_agree(make_pdf, caplog):
    texts = [f"Page {number} says {number * 7}" for number in range(1, 81)]
    path = make_pdf(texts, labels=[(0, 79, "/R", None, 1)])
    sequential = parse_file(path, workers=1)
    parallel = parse_file(path, workers=2)
    assert sequential.pages == parallel.pages
    assert [page.text for page in parallel.pages] == texts
    assert parallel.pages[79].label == "LXXX"
    assert "parallel PDF reading failed" not in caplog.text


def test_parallel_reading_spawns_workers_when_other_threads_run(make_pdf, caplog):
    """With another thread alive, forking is unsafe: workers are spawned and open the PDF themselves."""
    texts = [f"Spawned page {number}" for number in range(1, 71)]
    path = make_pdf(texts, user_password="pw")  # the workers must decrypt it too
    stop = threading.Event()
    other_thread = threading.Thread(target=stop.wait)
    other_thread.start()
    try:
        doc = parse_file(path, password="pw", workers=2)
    finally:
        stop.set()
        other_thread.join()
    assert [page.text for page in doc.pages] == texts
    assert "parallel PDF reading failed" not in caplog.text


def test_iter_pdf_pages_streams_in_order_and_progress_is_reported(make_pdf):
    path = make_pdf(["one", "two", "three"])
    assert [(page.number, page.text) for page in iter_pdf_pages(path)] == [(1, "one"), (2, "two"), (3, "three")]
    calls = []
    parse_file(path, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_encrypted_pdf_needs_the_password(make_pdf):
    path = make_pdf(["Secret text"], user_password="s3cret")
    with pytest.raises(IngestError, match="encrypted; give its password with --password"):
        parse_file(path)
    with pytest.raises(IngestError, match="wrong password"):
        parse_file(path, password="guess")
    assert parse_file(path, password="s3cret").pages[0].text == "Secret text"


def test_pdf_with_only_an_owner_password_opens_without_one(make_pdf):
    path = make_pdf(["Printable but not editable"], owner_password="owner")
    assert parse_file(path).pages[0].text == "Printable but not editable"


def test_aes_encrypted_pdf(make_pdf):
    pytest.importorskip("cryptography", reason="AES needs the optional 'cryptography' package")
    path = make_pdf(["AES text"], user_password="pw", algorithm="AES-256")
    assert parse_file(path, password="pw").pages[0].text == "AES text"


@pytest.mark.parametrize("image_pages", [(), (0, 1)], ids=["blank pages", "image pages"])
def test_pdf_without_a_text_layer_needs_ocr(make_pdf, image_pages):
    path = make_pdf(["", ""], image_pages=image_pages)
    with pytest.raises(IngestError, match="no extractable text.*needs OCR"):
        parse_file(path)


def test_one_broken_page_leaves_the_others(make_pdf, tmp_path):
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, StreamObject

    writer = PdfWriter(clone_from=PdfReader(make_pdf(["first", "second", "third"])))
    broken = StreamObject()
    broken._data = b"this is not zlib data"  # raw bytes: set_data would compress them properly
    broken[NameObject("/Filter")] = NameObject("/FlateDecode")
    writer.pages[1].replace_contents(broken)
    path = tmp_path / "broken-page.pdf"
    writer.write(path)
    assert [page.text for page in parse_file(path).pages] == ["first", "", "third"]


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_truncated_pdf(r_intro_pdf, tmp_path, keep):
    data = r_intro_pdf.read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(IngestError, match="corrupt or truncated") as error:
        parse_file(path)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    with pytest.raises(IngestError, match="corrupt or truncated"):
        parse_file(path)


def test_pdf_file_exposes_outline_and_labels(make_pdf):
    path = make_pdf(["a", "b"], outline=[("Only", 1, 0)])
    pdf = PdfFile(path.read_bytes(), path)
    assert pdf.page_count == 2
    assert pdf.page_labels() == ["1", "2"]
    assert pdf.outline_starts() == [(1, "Only")]


def test_running_headers_and_page_numbers_are_dropped(make_pdf):
    body = ["The meadow was wide and green.\nIt ran down to the river.", "Sheep grazed there all summer.",
            "A shepherd counted 12 of them.\nThe rest had wandered off.", "Night fell over the hills."]
    pages = [f"Manual of Fields 2.1 {n + 1}\n{text}\n{n + 1}" for n, text in enumerate(body)]
    pages[1] = f"Chapter 2: Grazing {2}\n{body[1]}"                       # own page number at the header's end
    parsed = parse_file(make_pdf(pages))
    assert [page.text for page in parsed.pages] == body                  # "12 of them" in the text stays


def test_real_manual_loses_its_running_headers(r_intro_document):
    """R-intro.pdf heads its pages "Chapter 1: Introduction and preliminaries 4" or "4 An Introduction to R"."""
    for page in r_intro_document.pages[8:40]:
        first = page.text.split("\n")[0].split()
        assert first and page.label not in (first[0], first[-1]), (page.number, page.text[:80])
    assert any("To quit the R program the command is" in page.text for page in r_intro_document.pages)
