"""parse_file's handling of bad paths and lying extensions, and discover_files' expansion of what users name."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.parse import discover_files, parse_file

def _error_for(path, **options) -> str:
    with pytest.raises(IngestError) as error:
        parse_file(path, **options)
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message  # one line naming the file
    return message


def test_document_identity(tmp_path, monkeypatch):
    path = tmp_path / "story.txt"
    path.write_text("Once upon a time.")
    monkeypatch.chdir(tmp_path)
    doc = parse_file("story.txt")
    assert doc.source == str(path)
    assert doc.doc_id == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc.full_text() == "Once upon a time."
    assert doc.page_offsets() == [(0, 17)]


def test_missing_file(tmp_path):
    assert "no such file" in _error_for(tmp_path / "absent.pdf")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pdf"
    path.touch()
    assert "empty file" in _error_for(path)


def test_directory(tmp_path):
    path = tmp_path / "folder.txt"
    path.mkdir()
    assert "is a directory" in _error_for(path)


def test_fifo_is_not_opened(tmp_path):
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    assert "not a regular file" in _error_for(path)


def test_unreadable_file(unprivileged, open_tmp_path):
    path = open_tmp_path / "secret.txt"
    path.write_text("hidden")
    path.chmod(0)
    assert unprivileged(lambda: _error_for(path)) == f"{path}: permission denied"


def test_a_directory_that_can_be_listed_but_not_entered_is_one_problem_and_the_others_go_on(unprivileged,
                                                                                              open_tmp_path):
    (open_tmp_path / "open.txt").write_text("readable")
    locked = open_tmp_path / "locked"
    locked.mkdir()
    (locked / "inside.txt").write_text("listed, not readable")
    locked.chmod(0o444)
    found = unprivileged(lambda: discover_files([str(open_tmp_path)]))
    assert f"files=[PosixPath('{open_tmp_path / 'open.txt'}')]" in found
    assert f"problems=['{locked / 'inside.txt'}: cannot read (Permission denied)']" in found


def test_file_over_the_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("x" * 2000)
    assert "too large" in _error_for(path, max_bytes=1000)


def test_unknown_extension(tmp_path):
    path = tmp_path / "slides.pptx"
    path.write_text("whatever")
    message = _error_for(path)
    assert "unsupported file type '.pptx'" in message and ".pdf" in message


def test_pdf_extension_on_a_text_file(tmp_path):
    path = tmp_path / "saved.pdf"
    path.write_text("<html><body>Access denied</body></html>")
    assert "not a valid PDF file (its content is HTML)" in _error_for(path)


def test_pdf_content_behind_a_text_extension(make_pdf, tmp_path):
    real = make_pdf(["Hidden PDF"])
    path = tmp_path / "actually-a-pdf.txt"
    path.write_bytes(real.read_bytes())
    doc = parse_file(path)
    assert doc.format == "pdf" and doc.pages[0].text == "Hidden PDF"


def test_every_error_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "multi.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    _error_for(path)


# --- discover_files -------------------------------------------------------------------------------------------


@pytest.fixture
def library(tmp_path) -> Path:
    """A directory tree with documents, other files, hidden files and a symbolic-link loop."""
    root = tmp_path / "library"
    (root / "b" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for name in ["a.pdf", "notes.MD", "b/c.txt", "b/deeper/d.epub", "b/picture.png", "b/deeper/e.html",
                 ".hidden/secret.txt", ".dotfile.txt", "b/Makefile"]:
        (root / name).write_text("x")
    (root / "b" / "deeper" / "loop").symlink_to(root)
    (root / "b" / "link.txt").symlink_to(root / "a.pdf")
    return root


def test_directories_are_walked_recursively_once(library):
    found = discover_files([str(library)])
    relative = [str(path.relative_to(library)) for path in found.files]
    assert relative == ["a.pdf", "b/c.txt", "b/deeper/d.epub", "b/deeper/e.html", "notes.MD"]  # link.txt = a.pdf
    assert found.problems == []
    assert sorted(path.name for path in found.skipped_unknown) == ["Makefile", "picture.png"]


def test_non_recursive_walk(library):
    files, problems = discover_files([str(library)], recursive=False)
    assert [path.name for path in files] == ["a.pdf", "notes.MD"]
    assert problems == []


def test_explicit_names_globs_and_problems(library):
    files, problems = discover_files(
        [
            str(library / "b" / "picture.png"),
            str(library / "missing.pdf"),
            str(library / "**" / "*.txt"),
            str(library / "*.nothing"),
            str(library / "a.pdf"),
            str(library / "a.pdf"),
        ]
    )
    assert [path.name for path in files] == ["c.txt", "link.txt"]  # a.pdf is link.txt's target, met first
    assert problems == [
        f"{library / 'b' / 'picture.png'}: unsupported file type '.png' (supported: .pdf, .epub, .txt, .text, .md, "
        ".markdown, .html, .htm, .xhtml)",
        f"{library / 'missing.pdf'}: no such file or directory",
        f"{library / '*.nothing'}: no files match this pattern",
    ]
