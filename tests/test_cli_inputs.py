"""Bad input to `ingest`, `docs` and `prepare`: one "error: ..." line on stderr, a non-zero exit, nothing written.

Real embedded Chroma under tmp_path, the commands called through app.cli.main as a user would run them.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from app.cli import main
from ingest.errors import StoreError
from ingest.parse import discover_files
from ingest.store import Store
from nonattn_core import CheckpointError, NonAttnLM

DOCUMENTS = {
    "lighthouse.txt": "The lighthouse keeper, Elias Marrow, kept a grey cat named Pewter on Kestrel Rock.\n",
    "garden.md": "# Notes on Gardening\n\nTomatoes need full sun. Ruth Calloway planted basil beside them.\n",
}


@pytest.fixture(scope="module")
def ingested_db(tmp_path_factory) -> Path:
    """A DB holding the two DOCUMENTS in the default collection (read by the tests, never changed: copy first)."""
    root = tmp_path_factory.mktemp("inputs")
    for name, text in DOCUMENTS.items():
        (root / name).write_text(text)
    db = root / "db"
    paths = [str(root / name) for name in DOCUMENTS]
    assert main(["ingest", "-q", "--device", "cpu", "--workers", "1", "--db", str(db), *paths]) == 0
    return db


def run(argv: list[str]) -> int:
    """main(argv)'s exit code, whether it returns it or raises SystemExit (ask_cli.user_errors does)."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


def one_error_line(capsys) -> str:
    """The whole of stderr, which must be a single "error: ..." line (stdout is dropped)."""
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def some_document(tmp_path: Path) -> str:
    path = tmp_path / "note.txt"
    path.write_text("A short note about a cat named Pewter.\n")
    return str(path)


# ---- --checkpoint -----------------------------------------------------------------------------------------


@pytest.fixture(params=["missing", "file", "empty directory", "damaged config", "truncated weights"])
def bad_checkpoint(request, tmp_path) -> str:
    from nonattn_core.model import CONFIG_FILE, DEFAULT_CHECKPOINT, WEIGHTS_FILE

    path = tmp_path / "checkpoint"
    if request.param == "file":
        path.write_text("not a checkpoint")
    elif request.param != "missing":
        path.mkdir()
    if request.param in ("damaged config", "truncated weights"):
        for name in (CONFIG_FILE, WEIGHTS_FILE):
            shutil.copy(DEFAULT_CHECKPOINT / name, path / name)
    if request.param == "damaged config":
        (path / CONFIG_FILE).write_text("{not json")
    elif request.param == "truncated weights":
        weights = (path / WEIGHTS_FILE).read_bytes()
        (path / WEIGHTS_FILE).write_bytes(weights[: len(weights) - 1000])
    return str(path)


@pytest.mark.parametrize("damage", ["config", "weights"])
def test_a_damaged_checkpoint_is_one_checkpoint_error(tmp_path, damage):
    from nonattn_core.model import CONFIG_FILE, DEFAULT_CHECKPOINT, WEIGHTS_FILE

    path = tmp_path / "checkpoint"
    path.mkdir()
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        shipped = (DEFAULT_CHECKPOINT / name).read_bytes()
        broken = name == (CONFIG_FILE if damage == "config" else WEIGHTS_FILE)
        (path / name).write_bytes(shipped[: len(shipped) // 3] if broken else shipped)
    with pytest.raises(CheckpointError, match=f"checkpoint {path} is damaged"):
        NonAttnLM.from_pretrained(path)


def test_from_pretrained_raises_checkpoint_error_still_a_file_not_found_error(bad_checkpoint):
    with pytest.raises(CheckpointError) as raised:
        NonAttnLM.from_pretrained(bad_checkpoint)
    assert isinstance(raised.value, FileNotFoundError) and bad_checkpoint in str(raised.value)


def test_ingest_with_a_bad_checkpoint_is_one_line_and_leaves_no_db(bad_checkpoint, tmp_path, capsys):
    db = tmp_path / "db"
    argv = ["ingest", "-q", "--device", "cpu", "--db", str(db), "--checkpoint", bad_checkpoint, some_document(tmp_path)]
    assert run(argv) == 2
    assert "checkpoint" in one_error_line(capsys)
    assert not db.exists()


def test_prepare_with_a_bad_checkpoint_is_one_line(bad_checkpoint, ingested_db, capsys):
    assert run(["prepare", "--device", "cpu", "--db", str(ingested_db), "--checkpoint", bad_checkpoint]) == 2
    assert "checkpoint" in one_error_line(capsys)


# ---- a --db with no database ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["docs", "list"], ["docs", "delete", "abc"], ["prepare", "--device", "cpu"]],
                         ids=" ".join)
def test_reading_commands_refuse_a_db_that_does_not_exist_and_create_none(command, tmp_path, capsys):
    db = tmp_path / "typo-db"
    assert run([*command, "--db", str(db)]) == 2
    assert one_error_line(capsys) == f"error: no database at {db} (ingest documents into it first)"
    assert not db.exists()


def test_reading_commands_refuse_a_directory_without_a_database(tmp_path, capsys):
    assert run(["docs", "list", "--db", str(tmp_path)]) == 2
    assert "no database at" in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_store_open_without_create_opens_only_an_existing_database(ingested_db, tmp_path):
    with pytest.raises(StoreError, match="no database at"):
        Store.open(db=tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()
    assert len(Store.open(db=ingested_db, create=False).documents("default")) == len(DOCUMENTS)


@pytest.mark.parametrize("paths, code, errors", [(["missing.txt"], 1, 1), (["missing.txt", "*.nothing"], 1, 2),
                                                  (["empty-dir"], 0, 0)])
def test_ingest_with_nothing_to_ingest_says_why_and_creates_no_db(paths, code, errors, tmp_path, capsys):
    (tmp_path / "empty-dir").mkdir()
    db = tmp_path / "db"
    assert run(["ingest", "-q", "--device", "cpu", "--db", str(db), *[str(tmp_path / path) for path in paths]]) == code
    err = capsys.readouterr().err
    assert sum(line.startswith("error: ") for line in err.splitlines()) == errors and "ingested 0 file(s)" in err
    assert ("found no documents (supported: .pdf, .epub," in err) == (paths == ["empty-dir"])
    assert not db.exists()


def test_the_summary_says_why_files_were_skipped():
    from ingest.pipeline import IngestSummary

    skipped = [{"source": "a.txt", "doc_id": "1", "reason": "unchanged"},
               {"source": "b.txt", "doc_id": "1", "reason": "same content as /docs/a.txt"},
               {"source": "c.xyz", "doc_id": "", "reason": "unsupported file type"},
               {"source": "d.txt", "doc_id": "2", "reason": "unchanged"}]
    assert "; skipped 4 (2 unchanged, 1 same content as another file, 1 unsupported file type); failed 0" in \
        IngestSummary(skipped=skipped).text()
    assert IngestSummary(failed=[{"source": "x", "error": "gone"}]).text().endswith("; skipped 0; failed 1")


def test_ingest_append_to_a_db_that_does_not_exist_creates_none(tmp_path, capsys):
    db = tmp_path / "typo-db"
    assert run(["ingest", "-q", "--device", "cpu", "--db", str(db), "--append", "abc", some_document(tmp_path)]) == 2
    assert one_error_line(capsys) == f"error: no database at {db} (ingest documents into it first)"
    assert not db.exists()


def test_append_refuses_the_documents_own_file_and_sync(tmp_path, capsys):
    note, db = some_document(tmp_path), str(tmp_path / "db")
    assert run(["ingest", "-q", "--device", "cpu", "--workers", "1", "--db", db, note]) == 0
    assert run(["docs", "list", "--db", db, "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    doc_id = before[0]["doc_id"]
    assert run(["ingest", "-q", "--device", "cpu", "--db", db, "--append", doc_id, note]) == 1
    assert one_error_line(capsys) == (f"error: {note}: is the source of document {doc_id[:12]} itself: to take in "
                                      "what was added to it, ingest it again (that replaces the document); "
                                      "--append takes another file")
    assert run(["ingest", "-q", "--device", "cpu", "--db", db, "--sync", "--append", doc_id, note]) == 2
    assert one_error_line(capsys) == ("error: ingest --append and --sync do not go together: --sync looks at "
                                      "whole directories")
    assert run(["docs", "list", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == before           # the document is as it was


def test_nothing_to_ingest_into_a_db_that_is_a_file_is_still_a_usage_error(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert run(["ingest", "-q", "--db", str(tmp_path / "afile"), str(tmp_path / "missing.txt")]) == 2
    assert "is a file, not a directory" in one_error_line(capsys)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only files")
def test_a_read_only_database_says_why_it_cannot_be_opened(ingested_db, tmp_path, capsys):
    db = tmp_path / "db"
    shutil.copytree(ingested_db, db)
    for path in [db, *db.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        assert run(["docs", "list", "--db", str(db)]) == 2
        line = one_error_line(capsys)
        assert "readonly database" in line and "make the directory writable, or copy it somewhere writable" in line
    finally:
        for path in [db, *db.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


# ---- --workers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_ingest_refuses_fewer_than_one_worker(workers, tmp_path, capsys):
    db = tmp_path / "db"
    assert run(["ingest", "-q", "--device", "cpu", "--db", str(db), "--workers", workers, some_document(tmp_path)]) == 2
    assert one_error_line(capsys) == "error: --workers must be at least 1"
    assert not db.exists()


# ---- symbolic links ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_link_to_a_device_is_not_a_regular_file_and_a_dangling_link_is_broken(tmp_path, capsys):
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nothing-here.txt")
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    named = [str(tmp_path / "zero.txt"), str(tmp_path / "gone.txt"), str(tmp_path / "loop.txt")]
    assert discover_files(named).problems == [f"{named[0]}: not a regular file or directory",
                                              f"{named[1]}: broken symbolic link",
                                              f"{named[2]}: symbolic link loop"]
    assert run(["ingest", "-q", "--device", "cpu", "--db", str(tmp_path / "db"), *named]) == 1
    assert "error: " + discover_files(named).problems[0] in capsys.readouterr().err


# ---- file names -------------------------------------------------------------------------------------------


def test_a_file_name_that_is_not_utf8_is_one_line_and_the_other_files_go_on(tmp_path, capsys):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "good.txt").write_text("A short note about a cat named Pewter.\n")
    bad_name = os.fsdecode(b"bad\xffname.txt")          # a Latin-1 name on a UTF-8 system
    (folder / bad_name).write_text("Another note, about a dog named Biscuit.\n")
    db = tmp_path / "db"
    assert run(["ingest", "-q", "--device", "cpu", "--workers", "1", "--db", str(db), str(folder)]) == 1
    err = capsys.readouterr().err
    assert (f"error: {folder}/bad\ufffdname.txt: file name is not valid UTF-8 (rename the file to ingest it)\n"
            in err) and "Traceback" not in err
    assert run(["docs", "list", "--db", str(db), "--json"]) == 0
    assert [Path(doc["source"]).name for doc in json.loads(capsys.readouterr().out)] == ["good.txt"]


def test_a_file_name_with_a_line_break_is_one_row_of_the_documents_table(tmp_path, capsys):
    (tmp_path / "new\nline.txt").write_text("A short note about a cat named Pewter.\n")
    db = str(tmp_path / "db")
    assert run(["ingest", "-q", "--device", "cpu", "--workers", "1", "--db", db, str(tmp_path / "new\nline.txt")]) == 0
    capsys.readouterr()
    assert run(["docs", "list", "--db", db]) == 0
    header, row = capsys.readouterr().out.strip().split("\n")
    assert row.endswith(f"{tmp_path}/new\\nline.txt")


# ---- docs delete ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("document", ["", "   "])
def test_docs_delete_refuses_an_empty_id_and_deletes_nothing(document, ingested_db, tmp_path, capsys):
    db = shutil.copytree(ingested_db, tmp_path / "db")
    assert run(["docs", "delete", "--db", str(db), document]) == 2
    assert one_error_line(capsys) == "error: empty document id"
    assert len(Store.open(db=db, create=False).documents("default")) == len(DOCUMENTS)


def test_a_document_named_twice_is_deleted_once(ingested_db, tmp_path, capsys):
    db = shutil.copytree(ingested_db, tmp_path / "db")
    doc_id = Store.open(db=db, create=False).documents("default")[0].doc_id
    assert run(["docs", "delete", "--db", str(db), doc_id, doc_id[:12]]) == 0
    assert capsys.readouterr().out.count("deleted ") == 1
    assert len(Store.open(db=db, create=False).documents("default")) == len(DOCUMENTS) - 1


# ---- prepare's cache --------------------------------------------------------------------------------------


def test_prepare_says_when_its_cache_is_a_file(ingested_db, tmp_path, capsys):
    db = shutil.copytree(ingested_db, tmp_path / "db")
    shutil.rmtree(db / ".qa-cache", ignore_errors=True)
    (db / ".qa-cache").write_text("in the way")
    assert run(["prepare", "--device", "cpu", "--db", str(db)]) == 2
    assert one_error_line(capsys) == f"error: cannot write the cache: {db / '.qa-cache'} is a file, not a directory"


def test_prepare_says_when_its_cache_directory_is_read_only(ingested_db, tmp_path, capsys):
    db = shutil.copytree(ingested_db, tmp_path / "db")
    cache = db / ".qa-cache"
    cache.mkdir(exist_ok=True)
    cache.chmod(0o555)
    try:
        try:
            (cache / "probe").write_text("")
        except OSError:
            pass
        else:
            pytest.skip("chmod does not stop this user writing (root)")
        assert run(["prepare", "--device", "cpu", "--db", str(db)]) == 2
        assert one_error_line(capsys).startswith(f"error: cannot write the cache: {cache} cannot be written (")
        assert list(cache.iterdir()) == []
    finally:
        cache.chmod(0o755)



# ---- where the database is --------------------------------------------------------------------------------


@pytest.mark.parametrize("where, error", [
    (["--db", ""], "--db is empty"),
    (["--chroma-host", ""], "--chroma-host is empty"),
    (["--chroma-port", "0"], "--chroma-port 0: a port is 1-65535"),
    (["--chroma-port", "70000"], "--chroma-port 70000: a port is 1-65535"),
])
def test_an_empty_or_zero_store_option_is_an_error_not_the_default_database(where, error, tmp_path, monkeypatch,
                                                                             capsys):
    default_db = tmp_path / "default-db"
    monkeypatch.setenv("NONATTN_QA_DB", str(default_db))
    assert run(["ingest", "-q", "--device", "cpu", *where, some_document(tmp_path)]) == 2
    assert error in one_error_line(capsys)
    assert not default_db.exists()
    assert run(["docs", "list", *where]) != 0
    assert error in one_error_line(capsys)


def test_a_collection_named_like_an_ip_address_is_refused_before_a_database_is_made(tmp_path, capsys):
    db = tmp_path / "db"
    assert run(["ingest", "-q", "--device", "cpu", "--db", str(db), "-c", "192.168.1.1", some_document(tmp_path)]) == 2
    assert "Chroma refuses names that are IP addresses" in one_error_line(capsys)
    assert not db.exists()


def test_a_db_under_a_directory_that_may_not_be_entered_is_one_line(unprivileged, open_tmp_path):
    closed = open_tmp_path / "closed"
    closed.mkdir(mode=0)
    db = closed / "db"

    def open_it() -> str:
        try:
            Store.open(db=str(db), create=False)
        except StoreError as error:
            return str(error)
        return "opened"
    assert unprivileged(open_it) == f"--db {db}: cannot read (Permission denied)"


def test_a_store_error_without_a_message_is_told_by_the_error_it_came_from():
    """Chroma's client raises an empty ValueError from the HTTP error that says what went wrong."""
    from ingest.store import _first_line

    try:
        try:
            raise RuntimeError("Client error '404 Not Found' for url 'http://host:8000/api'\nFor more information ...")
        except RuntimeError:
            raise ValueError()
    except ValueError as error:
        assert _first_line(error) == "Client error '404 Not Found' for url 'http://host:8000/api'"
    assert _first_line(KeyError()) == "KeyError"
