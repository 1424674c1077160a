"""The Gradio app launched in-process over a real embedded Chroma store, driven through gradio_client."""
from __future__ import annotations

import html
import shutil
import socket
from pathlib import Path

import pytest

pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402

from app.ui import (  # noqa: E402
    GRADIO_UPLOAD_CAP_FACTOR, build_app, human_size, launch, parse_size, place_upload, safe_upload_name,
    too_large_reason,
)

COLLECTION = "ui-test"
QUESTION = "How do you quit the R program?"


def value(output):
    """A component's value from an endpoint output (Dropdowns come back as update dicts)."""
    return output["value"] if isinstance(output, dict) and output.get("__type__") == "update" else output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def r_intro_excerpt(r_intro_pdf, pdf_excerpt, tmp_path_factory) -> Path:
    """The first 10 pages of R-intro.pdf: a real PDF, small enough to ingest in seconds (q() is on page 9)."""
    return pdf_excerpt(r_intro_pdf, tmp_path_factory.mktemp("docs") / "R-intro-excerpt.pdf", 10)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app over a fresh embedded store, served on 127.0.0.1; yields (url, app)."""
    from ingest.store import Store

    root = tmp_path_factory.mktemp("ui")
    store = Store.open(db=str(root / "db"))
    app = build_app(store, upload_dir=root / "uploads", max_file_size="20mb", default_collection=COLLECTION)
    launch(app, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield app.local_url, app
    finally:
        app.close()


@pytest.fixture(scope="module")
def client(served):
    return Client(served[0], verbose=False, download_files=False)


@pytest.fixture(scope="module")
def uploaded(client, r_intro_excerpt):
    """Upload the excerpt through the page's upload endpoint; returns the endpoint's outputs."""
    return client.predict([handle_file(str(r_intro_excerpt))], COLLECTION, api_name="/upload")


# --- pure helpers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\evil.PDF", "evil.pdf"),
    (".bashrc", "bashrc"),
    ("/abs/path/book.epub", "book.epub"),
    ("my book (2nd ed.).pdf", "my book _2nd ed.pdf"),
    ("..", "upload"),
    ("", "upload"),
    ("x" * 500 + ".txt", "x" * 120 + ".txt"),
    ("ﬁle\u0000name.md", "file_name.md"),
    ("résumé.pdf", "résumé.pdf"),
    ("日本語.txt", "日本語.txt"),
    ("hi\u0301stoire.md", "hístoire.md"),  # decomposed (as macOS names files) -> composed
    ("a\x01b\x1b[31m.txt", "a_b_31m.txt"),
    ("notes 🦆.md", "notes.md"),
    ("..\\日本\\..\\résumé.PDF", "résumé.pdf"),
    ("／etc／passwd", "passwd"),  # a fullwidth solidus is a separator after NFKC
])
def test_upload_names_are_sanitised(name, expected):
    assert safe_upload_name(name) == expected


def test_long_non_ascii_names_fit_a_file_system(tmp_path):
    name = safe_upload_name("日" * 300 + ".txt")
    assert name.endswith(".txt") and name.startswith("日") and len(name.encode()) <= 200
    source = tmp_path / "in.txt"
    source.write_text("long name")
    assert place_upload(source, "日" * 300 + ".txt", tmp_path / "uploads").name == name


def test_sizes_read_as_people_write_them():
    assert [human_size(n) for n in (0, 1, 512, 1024, 1536, 3380, 200 * 2**20, 2**30)] == [
        "0 bytes", "1 byte", "512 bytes", "1 KB", "1.5 KB", "3.3 KB", "200 MB", "1 GB"]
    assert too_large_reason(3380, 1024) == "too large (3.3 KB; the limit is 1 KB)"
    assert too_large_reason(20 * 2**20 + 1, 20 * 2**20) == "too large (20,971,521 bytes; the limit is 20,971,520 bytes)"


def test_uploads_stay_in_the_upload_dir(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("first")
    uploads = tmp_path / "uploads"
    placed = place_upload(source, "../../outside.txt", uploads)
    assert placed.parent == uploads.resolve() and placed.name == "outside.txt"
    assert not (tmp_path / "outside.txt").exists()
    assert place_upload(source, "outside.txt", uploads) == placed  # same bytes, same file
    other = tmp_path / "other.txt"
    other.write_text("second")
    assert place_upload(other, "outside.txt", uploads).name == "outside-1.txt"  # never overwritten


def test_parse_size():
    assert parse_size("200mb") == 200 * 2**20
    assert parse_size("1 GB") == 2**30
    assert parse_size(4096) == 4096
    for refused in ("lots", "0", "0mb", 0, "2tb", "9" * 400):      # nothing could be uploaded, or Gradio overflows
        with pytest.raises(ValueError):
            parse_size(refused)


# --- the served app -----------------------------------------------------------------------------------------


def test_binds_to_localhost_by_default(served):
    assert served[1].server_name == "127.0.0.1"
    assert served[0].startswith("http://127.0.0.1:")


def test_upload_lists_the_document(uploaded):
    collection, table, _, _, status, _ = uploaded
    assert value(collection) == COLLECTION
    assert "error" not in status.lower(), status
    files = [row[1] for row in table["data"]]
    assert "R-intro-excerpt.pdf" in files
    pages = table["data"][files.index("R-intro-excerpt.pdf")][3]
    assert int(pages) == 10


def test_ask_answers_with_sources_and_page(client, uploaded):
    answer, sources, page_choice, page_view = client.predict(QUESTION, COLLECTION, [], 5, api_name="/ask")
    assert "q()" in answer
    assert "p. 9" in answer  # the citation: R-intro.pdf's "To quit the R program the command is > q()"
    assert "R-intro-excerpt.pdf" in sources and "<mark>" in sources
    assert value(page_choice) == 0
    assert "<mark>" in page_view and "q()" in page_view and "p. 9" in page_view


def test_ask_streams_partial_answers(client, uploaded):
    job = client.submit(QUESTION, COLLECTION, [], 3, api_name="/ask")
    outputs = job.result(timeout=60) and job.outputs()
    assert len(outputs) >= 3  # the answer word by word, then the final answer with its sources
    partial = [out[0] for out in outputs[:-1]]
    assert all(len(a) < len(b) for a, b in zip(partial, partial[1:])), "each update adds words"
    assert "q()" in outputs[-1][0]


def test_follow_up_question_uses_the_conversation(served, uploaded):
    client = Client(served[0], verbose=False, download_files=False)  # its own session: its own history
    client.predict(QUESTION, COLLECTION, [], 5, api_name="/ask")
    follow_up = "And what are you asked when you do that?"
    answer = client.predict(follow_up, COLLECTION, [], 5, api_name="/ask")[0]
    assert "Understood as:" in answer and "quit" in answer.split("Understood as:")[1].lower()
    sources, answer, page_choice, page_view = client.predict(api_name="/new_conversation")
    assert (sources, value(page_choice), page_view) == ("", None, "")   # the last answer's cited page goes too
    assert "New conversation" in answer
    answer = client.predict(follow_up, COLLECTION, [], 5, api_name="/ask")[0]
    assert "Understood as:" not in answer  # a new conversation: the question stands alone


def test_a_follow_up_leans_only_on_turns_asked_of_the_same_collection(served, uploaded, tmp_path):
    client = Client(served[0], verbose=False, download_files=False)
    note = tmp_path / "caliban.md"
    note.write_text("# Notes\n\nSycorax was a witch from Argier. She was banished to the island.\n")
    client.predict([handle_file(str(note))], "island-notes", api_name="/upload")
    client.predict("Who was Sycorax?", "island-notes", [], 5, api_name="/ask")
    answer = client.predict("And what are you asked when you do that?", COLLECTION, [], 5, api_name="/ask")[0]
    assert "Understood as:" not in answer       # Sycorax is not what "that" is in the R manual


def test_a_collection_name_typed_with_spaces_around_it_is_one_collection(served, tmp_path):
    client = Client(served[0], verbose=False, download_files=False)
    note = tmp_path / "otters.md"
    note.write_text("# Otters\n\nSea otters eat sea urchins, clams and crabs.\n")
    picker, table, *_ = client.predict([handle_file(str(note))], "  otter-notes ", api_name="/upload")
    assert value(picker) == "otter-notes" and table_files(table) == ["otters.md"]
    answer = client.predict("What do sea otters eat?", " otter-notes ", [], 3, api_name="/ask")[0]
    assert "sea urchins" in answer and "does not exist" not in answer


def test_asking_a_collection_name_no_upload_can_make_says_why(served):
    client = Client(served[0], verbose=False, download_files=False)
    answer = html.unescape(client.predict("What is R?", "my docs", [], 3, api_name="/ask")[0])
    assert "invalid collection name 'my docs' (3-512 characters" in answer and "does not exist yet" not in answer
    answer = client.predict("What is R?", "later-notes", [], 3, api_name="/ask")[0]
    assert "does not exist yet: upload documents into it first" in answer


def test_a_source_over_two_pages_is_shown_on_the_page_of_its_marked_sentence():
    from types import SimpleNamespace

    from app.answer import Passage
    from app.ui import page_views, passage_record

    text = "Otters live in kelp forests.\fSea otters eat sea urchins, clams and crabs."
    second = text.index("Sea otters")
    passage = Passage("o#0", text, "/docs/otters.txt", 1, 2, "1", None, 1.0, page_breaks=[(second, 2, "2")],
                      highlights=[(second, len(text))])
    (label, rec, sentence), = page_views(SimpleNamespace(citations=[]), [passage_record(passage)])
    assert (label, rec["page"], sentence) == ("[1] otters.txt, p. 2", 2, None)


def test_page_endpoint_shows_another_source(served, r_intro_excerpt, uploaded):
    client = Client(served[0], verbose=False, download_files=False)  # its own session (the State is per session)
    _, _, page_choice, _ = client.predict(QUESTION, COLLECTION, [], 5, api_name="/ask")  # fills the session state
    labels = [label for label, _ in page_choice["choices"]]
    assert labels[0].startswith("Answer: R-intro-excerpt.pdf, p. 9")
    assert labels[1].startswith("[1] R-intro-excerpt.pdf, p. ")
    view = client.predict(1, api_name="/page")
    assert "source-head" in view and "R-intro-excerpt.pdf" in view


def test_ask_restricted_to_documents(client, uploaded):
    documents = client.predict(COLLECTION, api_name="/documents")
    (label, doc_id), = documents[1]["choices"]
    assert "R-intro-excerpt.pdf" in label
    answer, sources, *_ = client.predict(QUESTION, COLLECTION, [doc_id], 2, api_name="/ask")
    assert "R-intro-excerpt.pdf" in sources


def test_ask_takes_document_ids_without_listing_first(served, uploaded):
    url, app = served
    client = Client(url, verbose=False, download_files=False)  # a fresh session: no /documents call before /ask
    doc_id = app.qa_service.documents(COLLECTION)[0].doc_id
    answer, sources, *_ = client.predict(QUESTION, COLLECTION, [doc_id], 2, api_name="/ask")
    assert "R-intro-excerpt.pdf" in sources and "q()" in answer
    answer, sources, *_ = client.predict(QUESTION, COLLECTION, ["deadbeef"], 2, api_name="/ask")
    assert "No document deadbeef in collection" in answer and "Traceback" not in answer + sources


@pytest.mark.parametrize("question, collection, message", [
    ("   ", COLLECTION, "Type a question"),
    (QUESTION, "no-such-collection", "does not exist"),
])
def test_ask_errors_are_one_line(client, uploaded, question, collection, message):
    answer, sources, _, _ = client.predict(question, collection, [], 5, api_name="/ask")
    assert message in answer
    assert "Traceback" not in answer + sources


def test_upload_errors_are_one_line(client, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("some notes")
    status = client.predict([handle_file(str(bad))], "x", api_name="/upload")[4]
    assert "invalid collection name" in status and "Traceback" not in status
    status = client.predict([], COLLECTION, api_name="/upload")[4]
    assert "choose one or more files" in status
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    status = client.predict([handle_file(str(broken))], COLLECTION, api_name="/upload")[4]
    assert "Ingest failed: broken.pdf" in status and "Traceback" not in status


def uploaded_files(app) -> list[str]:
    return sorted(path.name for path in app.qa_service.upload_dir.iterdir())


def table_files(table) -> list[str]:
    return [row[1] for row in table["data"] if row and any(row)]


def test_one_bad_file_does_not_block_the_others(served, tmp_path, monkeypatch):
    """Good files are ingested; each refused or failed one is named with its reason; none of those is kept."""
    url, app = served
    monkeypatch.setattr(app.qa_service, "max_upload_bytes", 1024)  # this app's own setting, not a stand-in
    files = {"notes ñandú 日本.md": "# Rheas\n\nThe ñandú is a flightless bird of South America.\n",
             "prog.exe": "MZ not a document", "big.txt": "word " * 600}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    client = Client(url, verbose=False, download_files=False)
    names = ["prog.exe", "notes ñandú 日本.md", "big.txt", "broken.pdf"]
    _, table, _, _, status, _ = client.predict([handle_file(str(tmp_path / n)) for n in names], "mixed",
                                               api_name="/upload")
    assert table_files(table) == ["notes ñandú 日本.md"]
    assert "Ingested notes ñandú 日本.md" in status
    assert ("prog.exe: unsupported file type '.exe' (supported: .pdf, .epub, .txt, .text, .md, .markdown, .html, "
            ".htm, .xhtml)") in html.unescape(status)
    assert "big.txt: too large (2.9 KB; the limit is 1 KB)" in status
    assert "Ingest failed: broken.pdf" in status and "Traceback" not in status
    assert uploaded_files(app).count("notes ñandú 日本.md") == 1
    assert not {"prog.exe", "big.txt", "broken.pdf"} & set(uploaded_files(app))


def test_a_file_over_the_size_limit_does_not_stop_the_others_of_its_upload(tmp_path):
    """The limit the server is launched with is checked file by file: Gradio's own check, which refuses a whole
    upload, lies at GRADIO_UPLOAD_CAP_FACTOR times it."""
    from ingest.store import Store

    app = build_app(Store.open(db=str(tmp_path / "db")), upload_dir=tmp_path / "uploads", max_file_size="1kb",
                    default_collection=COLLECTION)
    launch(app, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        small, big, huge = tmp_path / "rheas.md", tmp_path / "big.txt", tmp_path / "huge.txt"
        small.write_text("# Rheas\n\nThe rhea is a flightless bird of South America.\n")
        big.write_text("word " * 600)
        huge.write_text("word " * (GRADIO_UPLOAD_CAP_FACTOR * 1024 // 5 + 1))
        client = Client(app.local_url, verbose=False, download_files=False)
        _, table, _, _, status, _ = client.predict([handle_file(str(big)), handle_file(str(small))], COLLECTION,
                                                   api_name="/upload")
        assert table_files(table) == ["rheas.md"]
        assert "big.txt: too large (2.9 KB; the limit is 1 KB)" in status
        with pytest.raises(Exception, match="maximum"):
            client.predict([handle_file(str(huge))], COLLECTION, api_name="/upload")
        assert uploaded_files(app) == ["rheas.md"]
    finally:
        app.close()


def test_an_upload_prepares_the_engine_before_the_first_question(served, tmp_path):
    """The span memory and the fallback's vectors of an uploaded document are computed while the upload's progress
    bar is up (minutes for a long book on a CPU), not when the first question comes."""
    _, app = served
    spans = Path(app.qa_service.store.location, ".qa-cache", "spans")
    before = set(spans.glob("*/*.npz"))
    notes = tmp_path / "lighthouse.md"
    notes.write_text("# The lighthouse\n\nThe keeper lit the lamp at dusk and wound the clockwork every four hours.\n")
    client = Client(app.local_url, verbose=False, download_files=False)
    *_, status, _ = client.predict([handle_file(str(notes))], "prepared-on-upload", api_name="/upload")
    assert "error" not in status.lower(), status
    assert len(set(spans.glob("*/*.npz")) - before) == 1, "the new document's spans are cached by the upload"


def test_an_upload_says_what_became_of_each_file_it_named(served, tmp_path):
    """A file chosen twice is ingested once and said to be; one named like an earlier, different upload is kept
    beside it under another name, and the user is told which."""
    url, app = served
    client = Client(url, verbose=False, download_files=False)
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, animal in ((first, "The rhea is a flightless bird of South America."),
                           (second, "The okapi is a forest giraffe of the Congo.")):
        folder.mkdir()
        (folder / "field-notes.md").write_text(f"# Notes\n\n{animal}\n")
    twice = [handle_file(str(first / "field-notes.md"))] * 2
    _, table, _, _, status, _ = client.predict(twice, "named", api_name="/upload")
    assert table_files(table) == ["field-notes.md"]
    assert "Skipped field-notes.md: chosen twice in this upload." in status
    _, table, _, _, status, _ = client.predict([handle_file(str(second / "field-notes.md"))], "named",
                                               api_name="/upload")
    assert sorted(table_files(table)) == ["field-notes-1.md", "field-notes.md"]
    assert ("Ingested field-notes-1.md (uploaded as field-notes.md; a different file of that name was uploaded "
            "before)") in status


def test_only_refused_files_create_no_collection(served, tmp_path):
    url, app = served
    (tmp_path / "archive.zip").write_bytes(b"PK\x03\x04 not a document")
    status = Client(url, verbose=False, download_files=False).predict(
        [handle_file(str(tmp_path / "archive.zip"))], "refused-only", api_name="/upload")[4]
    assert "archive.zip: unsupported file type '.zip'" in html.unescape(status) and "Traceback" not in status
    assert "refused-only" not in app.qa_service.collections()


def test_uploaded_copies_are_kept_only_while_a_document_uses_them(served, tmp_path, uploaded):
    """A duplicate's copy goes at once; a file shared by two collections stays until neither has it."""
    url, app = served
    client = Client(url, verbose=False, download_files=False)
    shared, twin = tmp_path / "okapi-notes.md", tmp_path / "okapi-twin.md"
    for path in (shared, twin):
        path.write_text("# Okapi\n\nThe okapi is a forest giraffe of the Congo.\n")
    client.predict([handle_file(str(shared))], "keep-a", api_name="/upload")
    status = client.predict([handle_file(str(twin))], "keep-a", api_name="/upload")[4]
    assert "Skipped okapi-twin.md: same content as okapi-notes.md" in status
    assert "okapi-twin.md" not in uploaded_files(app)
    client.predict([handle_file(str(shared))], "keep-b", api_name="/upload")
    doc_id = app.qa_service.documents("keep-a")[0].doc_id
    assert "Deleted" in client.predict("keep-a", doc_id, api_name="/delete")[3]
    assert "okapi-notes.md" in uploaded_files(app)  # keep-b's document still reads it (the page view re-reads it)
    source = app.qa_service.documents("keep-b")[0].source
    from app.ui import page_text

    assert "forest giraffe" in page_text(source, 1)[1]
    assert "Deleted" in client.predict("keep-b", doc_id, api_name="/delete")[3]
    assert "okapi-notes.md" not in uploaded_files(app)
    assert "R-intro-excerpt.pdf" in uploaded_files(app)  # other documents' files stay


def test_deleting_a_document_outside_the_upload_dir_keeps_its_file(served, tmp_path):
    from ingest.pipeline import ingest_paths

    url, app = served
    outside = tmp_path / "cli-notes.md"
    outside.write_text("# Tapirs\n\nA tapir ingested from the command line, not uploaded.\n")
    ingest_paths([str(outside)], app.qa_service.store, collection="from-cli")
    doc_id = app.qa_service.documents("from-cli")[0].doc_id
    status = Client(url, verbose=False, download_files=False).predict("from-cli", doc_id, api_name="/delete")[3]
    assert "Deleted" in status and outside.exists()


def test_delete_document(served, tmp_path, r_intro_excerpt):
    url, app = served
    client = Client(url, verbose=False, download_files=False)
    small = tmp_path / "tiny-notes.md"
    small.write_text("# Notes\n\nThe delete test document mentions zebras and giraffes.\n")
    table = client.predict([handle_file(str(small))], "delete-test", api_name="/upload")[1]
    assert [row[1] for row in table["data"]] == ["tiny-notes.md"]
    doc_id = app.qa_service.documents("delete-test")[0].doc_id
    table, _, _, status = client.predict("delete-test", doc_id, api_name="/delete")
    assert "Deleted" in status
    assert not table["data"] or table["data"] == [[]] or all(not any(row) for row in table["data"])
    assert "tiny-notes.md" not in uploaded_files(app)
    answer = client.predict("Which animals does it mention?", "delete-test", [], 5, api_name="/ask")[0]
    assert "Collection &#x27;delete-test&#x27; has no documents: upload some first." in answer


def test_deleting_nothing_is_not_reported_as_success(served, uploaded):
    """Another tab deleted it already, or the id is another collection's: say so, and delete nothing."""
    url, app = served
    client = Client(url, verbose=False, download_files=False)  # a fresh session: it never listed the documents
    r_intro = app.qa_service.documents(COLLECTION)[0]
    table, _, _, status = client.predict("delete-test", r_intro.doc_id, api_name="/delete")
    assert f"No document {r_intro.doc_id[:12]} in collection &#x27;delete-test&#x27; (already deleted?)" in status
    assert "R-intro-excerpt.pdf" in [r.source.rsplit("/", 1)[-1] for r in app.qa_service.documents(COLLECTION)]
    status = client.predict(COLLECTION, "deadbeef", api_name="/delete")[3]
    assert "No document deadbeef in collection" in status and "Traceback" not in status
    status = client.predict("no-such-collection", "deadbeef", api_name="/delete")[3]
    assert "No document deadbeef in collection" in status


def test_auth_is_required_when_set(tmp_path):
    from ingest.store import Store

    app = build_app(Store.open(db=str(tmp_path / "db")), upload_dir=tmp_path / "uploads")
    launch(app, port=free_port(), auth=("reader", "s3cret"), prevent_thread_lock=True, quiet=True)
    try:
        with pytest.raises(Exception):
            Client(app.local_url, verbose=False)
        authed = Client(app.local_url, auth=("reader", "s3cret"), verbose=False, download_files=False)
        assert "0 document(s)" in authed.predict("default", api_name="/documents")[3]
    finally:
        app.close()


def test_serve_command_defaults_to_localhost():
    from app.cli import build_parser
    from app.serve_cli import is_loopback, parse_auth

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.auth, args.max_file_size) == ("127.0.0.1", 7860, None, "200mb")
    assert parse_auth("reader:pa:ss") == ("reader", "pa:ss")
    for bad in ("reader", ":pass", "reader:"):
        with pytest.raises(ValueError):
            parse_auth(bad)
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and not is_loopback("0.0.0.0")


def test_serve_says_when_it_makes_a_new_database(tmp_path, capsys):
    """A first run, or a mistyped --db: the empty database it makes is said on stderr, once."""
    from app.cli import build_parser
    from app.serve_cli import open_or_make_store

    args = build_parser().parse_args(["serve", "--db", str(tmp_path / "tyop-db")])
    open_or_make_store(args)
    assert capsys.readouterr().err == (f"note: no database at {tmp_path / 'tyop-db'} yet: made an empty one "
                                       "(upload documents in the Documents tab)\n")
    assert open_or_make_store(args).collections() == [] and capsys.readouterr().err == ""


def test_serve_command_errors_are_one_line(tmp_path, capsys, monkeypatch):
    from app.cli import main

    monkeypatch.setenv("NONATTN_QA_AUTH", "reader-without-password")
    assert main(["serve"]) == 2
    assert "$NONATTN_QA_AUTH wants USER:PASS" in capsys.readouterr().err
    monkeypatch.delenv("NONATTN_QA_AUTH")
    assert main(["serve", "--auth", "nopassword"]) == 2
    assert main(["serve", "--port", "99999"]) == 2
    assert main(["serve", "--max-file-size", "0"]) == 2
    assert main(["serve", "--collection", "my docs"]) == 2
    (tmp_path / "file").write_text("not a directory")
    port = str(free_port())
    assert main(["serve", "--db", str(tmp_path / "file"), "--port", port]) == 1
    assert main(["serve", "--host", "no-such-host.invalid", "--port", port]) == 1
    assert main(["serve", "--db", str(tmp_path / "db"), "--upload-dir", str(tmp_path / "file"), "--port", port]) == 2
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", "--port", str(taken.getsockname()[1])]) == 1
    err = capsys.readouterr().err
    assert "--auth wants USER:PASS" in err and "is a file, not a directory" in err and "Traceback" not in err
    assert "--port 99999: a port is 1-65535" in err
    assert "size '0': give 1 byte to 1 TB" in err and "invalid collection name 'my docs'" in err
    assert "--host no-such-host.invalid: no such address" in err
    assert f"upload directory {tmp_path / 'file'} is a file, not a directory" in err
    assert "Address already in use" in err
    assert len(err.strip().splitlines()) == 9       # eight errors, and the note that --db held no database yet


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="pdftoppm (poppler-utils) not installed")
def test_cited_page_image(r_intro_excerpt):
    from app.ui import page_image

    image = page_image(str(r_intro_excerpt), 9)
    assert image is not None and image.size[0] > 100
    assert page_image(str(r_intro_excerpt), 99) is None


def test_the_answer_says_where_a_question_naming_a_part_was_asked():
    from app.engine import QAResult
    from app.ui import answer_markdown

    asked_of_part = QAResult("In Act 3, who dies?", "Banquo dies.", [], [], part={"named": "Act 3", "found": True})
    assert "*Asked of Act 3 only.*" in answer_markdown(asked_of_part)
    missing = QAResult("In chapter 9, who dies?", None, [], [], part={"named": "chapter 9", "found": False})
    assert "*These documents have no chapter 9: asked of them whole.*" in answer_markdown(missing)
    assert "Asked of" not in answer_markdown(QAResult("Who dies?", "Banquo dies.", [], []))


def test_gradio_copies_of_uploads_are_removed_when_the_server_stops(tmp_path):
    """Gradio keeps its own copy of every upload; the server sweeps them (hourly, and all when it stops), while
    the document itself stays in the upload dir for the page view."""
    from ingest.store import Store

    app = build_app(Store.open(db=str(tmp_path / "db")), upload_dir=tmp_path / "uploads",
                    default_collection=COLLECTION)
    launch(app, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        note = tmp_path / "note.md"
        note.write_text("# Rheas\n\nThe rhea is a flightless bird of South America.\n")
        Client(app.local_url, verbose=False, download_files=False).predict(
            [handle_file(str(note))], COLLECTION, api_name="/upload")
        gradio_copies = [Path(path) for path in app.upload_file_set]
        assert gradio_copies and all(path.exists() for path in gradio_copies)
    finally:
        app.close()
    assert not any(path.exists() for path in gradio_copies)
    assert uploaded_files(app) == ["note.md"]


def test_the_answer_offers_the_documents_spelling_of_a_name_they_never_mention():
    from app.engine import QAResult
    from app.ui import answer_markdown

    typo = QAResult("Who is Quequeg?", None, [], [], unmentioned=["Quequeg"], did_you_mean={"Quequeg": "Queequeg"})
    assert "they never mention Quequeg (did you mean Queequeg?)." in answer_markdown(typo)
    absent = QAResult("Who is Sibelius?", None, [], [], unmentioned=["Sibelius"])
    assert "they never mention Sibelius." in answer_markdown(absent)


def test_api_input_out_of_a_components_range_is_one_error_and_no_traceback_in_the_server_log(served, capfd):
    """Gradio checks an API call's values against the page's components; the caller gets its one-line error, and
    the server's log (this process's stderr: the server runs in a thread here) no traceback."""
    client = Client(served[0], verbose=False, download_files=False)
    capfd.readouterr()
    with pytest.raises(Exception, match="greater than maximum value 20"):
        client.predict(QUESTION, COLLECTION, [], 999, api_name="/ask")
    with pytest.raises(Exception, match="not in the list of choices"):
        client.predict(55, None, api_name="/page")
    assert "Traceback" not in capfd.readouterr().err
