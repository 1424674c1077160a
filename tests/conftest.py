"""Shared fixtures: real public documents (fetched once), the offline tokenizer, small PDFs built on the spot."""
from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest


NOBODY = 65534


@pytest.fixture
def unprivileged():
    """run(fn) -> str(fn()), called as the user 'nobody' when the tests run as root (root reads and enters whatever
    a file's mode says), else here; an exception fn raises comes back as 'TypeName: message'."""
    def run(fn) -> str:
        if os.geteuid() != 0:
            return str(fn())
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:
            try:
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                try:
                    message = str(fn())
                except BaseException as error:  # pytest's own failures too
                    message = f"{type(error).__name__}: {error}"
                os.write(write_end, message.encode())
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            message = pipe.read().decode()
        os.waitpid(child, 0)
        return message
    return run


@pytest.fixture
def open_tmp_path():
    """A fresh directory that 'nobody' (see `unprivileged`) may enter: pytest's tmp_path lies under a directory
    only its owner may. Removed afterwards, the modes a test took away from the directories under it given back."""
    directory = Path(tempfile.mkdtemp(prefix="open-"))
    directory.chmod(0o755)
    yield directory
    directory.chmod(0o755)
    for root, subdirectories, _ in os.walk(directory):      # top-down: each is opened up before it is walked
        for name in subdirectories:
            os.chmod(os.path.join(root, name), 0o755)
    shutil.rmtree(directory)


@pytest.fixture(params=["float32", "bf16"])
def inference_precision(request, monkeypatch) -> float:
    """Runs a test in float32 CPU inference and in the default one (bf16 where the CPU multiplies bf16 natively); returns the
    tolerance on embeddings that precision allows."""
    if request.param == "float32":
        monkeypatch.setenv("NONATTN_CPU_BF16", "0")
        return 1e-4
    return 1e-2


@pytest.fixture
def chunk_table():
    """{doc_id: chunk texts in reading order} -> an app.retrieval.ChunkTable, rows stored in another order."""
    from app.retrieval import ChunkTable

    def build(documents: dict[str, list[str]]) -> ChunkTable:
        ids, texts, metadatas = [], [], []
        for doc_id, chunks in documents.items():
            for index, text in reversed(list(enumerate(chunks))):      # stored order is not reading order
                ids.append(f"{doc_id}:{index}")
                texts.append(text)
                metadatas.append({"doc_id": doc_id, "chunk_index": index})
        return ChunkTable(ids, texts, metadatas)

    return build


# --- real documents -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fetch_doc():
    """name -> Path of a real public document (see examples/fetch_docs.py), fetched on first use."""
    from ingest.example_docs import fetch_docs as load_fetch_docs

    fetch_docs = load_fetch_docs()

    def fetch(name: str) -> Path:
        if isinstance(fetch_docs.DOCUMENTS.get(name), fetch_docs.DebianFile) and shutil.which("apt-get") is None:
            pytest.skip(f"apt-get is not available to fetch {name}")
        return fetch_docs.fetch(name)

    return fetch


@pytest.fixture(scope="session")
def r_intro_pdf(fetch_doc) -> Path:
    """R-intro.pdf (113 pages, roman-numbered front matter, a two-level outline)."""
    return fetch_doc("R-intro.pdf")


@pytest.fixture(scope="session")
def r_intro_document(r_intro_pdf):
    """R-intro.pdf parsed once per session (read-only: do not modify it)."""
    from ingest.parse import parse_file

    return parse_file(r_intro_pdf)


@pytest.fixture(scope="session")
def pdf_excerpt():
    """(source PDF, target path, n) -> target: the first n pages of a real PDF, small enough to ingest in seconds."""

    def write(source: Path, target: Path, pages: int) -> Path:
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter()
        for page in PdfReader(source).pages[:pages]:
            writer.add_page(page)
        with target.open("wb") as out:
            writer.write(out)
        return target

    return write


@pytest.fixture(scope="session")
def gnuplot_pdf(fetch_doc) -> Path:
    """gnuplot.pdf (311 pages)."""
    return fetch_doc("gnuplot.pdf")


@pytest.fixture(scope="session")
def macbeth_txt(fetch_doc) -> Path:
    """Macbeth, Project Gutenberg plain text (ACT / SCENE headings)."""
    return fetch_doc("macbeth.txt")


# --- tokenizer ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tokenizer():
    """The model's cl100k_base tokenizer, loaded offline."""
    from ingest.chunk import default_tokenizer

    return default_tokenizer()


# --- small PDFs ---------------------------------------------------------------------------------------------


@pytest.fixture
def make_pdf(tmp_path):
    """Build a small PDF and return its path.

    make_pdf(pages, name="doc.pdf", outline=[(title, page_index, depth)], labels=[(first, last, style,
    prefix, start)], user_password=None, owner_password=None, algorithm="RC4-128", title=None, image_pages=())
    pages: the text of each page, lines separated by "\\n" (Helvetica, ASCII); image_pages: indexes of
    pages drawn as an image instead of text.
    """

    def build(
        pages,
        name="doc.pdf",
        outline=(),
        labels=(),
        user_password=None,
        owner_password=None,
        algorithm="RC4-128",
        title=None,
        image_pages=(),
    ) -> Path:
        from pypdf import PdfWriter

        writer = PdfWriter()
        for index, text in enumerate(pages):
            _add_page(writer, text, as_image=index in image_pages)
        parents = {}
        for title_text, page_index, depth in outline:
            parents[depth] = writer.add_outline_item(
                title=title_text, page_number=page_index, parent=parents.get(depth - 1)
            )
        for first, last, style, prefix, start in labels:
            writer.set_page_label(first, last, style=style, prefix=prefix, start=start)
        if title:
            writer.add_metadata({"/Title": title})
        if user_password is not None or owner_password is not None:
            writer.encrypt(user_password or "", owner_password=owner_password, algorithm=algorithm)
        buffer = io.BytesIO()
        writer.write(buffer)
        path = tmp_path / name
        path.write_bytes(buffer.getvalue())
        return path

    return build


def _add_page(writer, text: str, as_image: bool) -> None:
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    page = writer.add_blank_page(612, 792)
    if as_image:  # an inline 2x2 grey bitmap: what a scanned page looks like to a text extractor
        content = b"q 400 0 0 400 100 200 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x00\xff\xff\x00 EI Q"
    else:
        helvetica = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): helvetica})}
        )
        lines = " T* ".join(f"({_pdf_string(line)}) Tj" for line in text.split("\n"))
        content = f"BT /F1 11 Tf 14 TL 72 720 Td {lines} ET".encode("latin-1")
    stream = DecodedStreamObject()
    stream.set_data(content)
    page.replace_contents(stream)


def _pdf_string(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
