"""`nonattn-qa ask`: the JSON schema, --questions (order kept, one object per line), one-line user errors."""
from __future__ import annotations

import codecs
import json
import subprocess
import sys
from pathlib import Path

import pytest

from test_engine import COLLECTION, build_qa_db

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def qa_db(r_intro_pdf, pdf_excerpt, macbeth_txt, tmp_path_factory) -> str:
    return build_qa_db(tmp_path_factory.mktemp("ask"), r_intro_pdf, macbeth_txt, pdf_excerpt)


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          input=stdin, timeout=600, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})


def check_schema(obj: dict) -> None:
    assert set(obj) >= {"question", "answer", "citations", "passages"}
    assert obj["answer"] is None or isinstance(obj["answer"], str)
    for c in obj["citations"]:
        assert set(c) >= {"source", "page", "page_label", "text"}
    scores = [p["score"] for p in obj["passages"]]
    assert scores == sorted(scores, reverse=True)
    for p in obj["passages"]:
        assert set(p) >= {"source", "page_start", "page_end", "text", "score"}
        assert isinstance(p["text"], str) and isinstance(p["score"], float)


def test_ask_json_schema_and_abstention(qa_db, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text("What is the default R prompt?\n\nHow do I export a data frame to PostgreSQL?\n"
                         "Who is the Thane of Cawdor?\n")
    done = cli("ask", "--questions", str(questions), "--json", "--db", qa_db, "--collection", COLLECTION, "-k", "3")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["question"] for o in lines] == ["What is the default R prompt?",
                                              "How do I export a data frame to PostgreSQL?",
                                              "Who is the Thane of Cawdor?"]
    for obj in lines:
        check_schema(obj)
        assert len(obj["passages"]) <= 3
    assert lines[0]["answer"] and lines[0]["citations"][0]["page"] == 9
    assert lines[1]["answer"] is None and lines[1]["citations"] == []


def test_a_reader_that_stops_reading_ends_the_answers_without_a_traceback(qa_db, tmp_path):
    """`nonattn-qa ask --questions FILE | head -1`: the pipe closes after the first line; the rest is dropped
    quietly, with the shell's exit status for a closed pipe (141)."""
    questions = tmp_path / "many.txt"
    questions.write_text("What is the default R prompt?\n" * 4)
    reader = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.readline())"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    writer = subprocess.run([sys.executable, "-m", "app.cli", "ask", "--questions", str(questions), "--json",
                             "--db", qa_db, "--collection", COLLECTION], cwd=ROOT, stdout=reader.stdin,
                            stderr=subprocess.PIPE, text=True, timeout=600,
                            env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    reader.stdin.close()
    first = reader.stdout.read()
    reader.wait(timeout=60)
    assert json.loads(first)["question"] == "What is the default R prompt?"
    assert writer.returncode == 141 and "Traceback" not in writer.stderr, writer.stderr[-2000:]


def test_ask_single_question_text_and_doc_filter(qa_db):
    done = cli("ask", "What is the default R prompt?", "--db", qa_db, "--collection", COLLECTION,
               "--doc", "R-intro-excerpt.pdf")
    assert done.returncode == 0, done.stderr
    assert "R-intro-excerpt.pdf" in done.stdout and "macbeth" not in done.stdout


@pytest.mark.parametrize("switches", [["--spans", "--fallback", "spans"], ["--fallback", "minilm+spans"],
                                      ["--fallback", "none"], ["--no-span-memory"]])
def test_ask_with_the_list_switches(qa_db, switches):
    """--spans (an opt-in list), --fallback's lists, --no-span-memory: the same JSON, the answer still found."""
    done = cli("ask", "What is the default R prompt?", "--json", *switches, "--db", qa_db, "--collection", COLLECTION)
    assert done.returncode == 0, done.stderr
    obj = json.loads(done.stdout)
    check_schema(obj)
    assert obj["answer"] and "default prompt" in obj["answer"] and obj["citations"][0]["page"] == 9


@pytest.mark.parametrize("args, message", [
    (["ask", "q?", "--collection", "missing"], "no collection"),
    (["ask", "q?", "--doc", "nothing-like-this"], "--doc 'nothing-like-this' matches no document in collection"),
    (["ask", "--questions", "/nonexistent/q.txt"], "cannot read"),
    (["ask"], "either a QUESTION"),
    (["ask", " \t "], "the question is empty"),
    (["ask", "--questions", "/dev/null"], "no questions in it"),
    (["ask", "q?", "-k", "abc"], "invalid int value: 'abc' (see nonattn-qa ask --help)"),
    (["ask", "q?", "--doc", ""], "--doc is empty"),
    (["ask", "q?", "--spans", "--no-span-memory"], "--no-span-memory leaves out the span memory"),
    (["ask", "q?", "--fallback", "minilm+spans", "--no-span-memory"], "--no-span-memory leaves out the span memory"),
    (["ask", "q?", "--chroma-host", "127.0.0.1"], "--db names an embedded database and --chroma-host"),
])
def test_user_errors_are_one_line_and_exit_2(qa_db, args, message):
    if "--collection" not in args:
        args = args + ["--collection", COLLECTION]
    done = cli(*args, "--db", qa_db)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_asking_a_collection_whose_documents_were_all_deleted_says_so(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("The lighthouse keeper lights the lamp at sunset.\n")
    db = str(tmp_path / "db")
    ingested = cli("ingest", "-q", "--device", "cpu", "--workers", "1", "--db", db, "-c", "notes", str(note))
    assert ingested.returncode == 0
    doc_id = json.loads(cli("docs", "list", "--db", db, "-c", "notes", "--json").stdout)[0]["doc_id"]
    assert cli("docs", "delete", "--db", db, "-c", "notes", doc_id).returncode == 0
    done = cli("ask", "When is the lamp lit?", "--db", db, "-c", "notes")
    assert done.returncode == 2
    assert done.stderr == "error: collection 'notes' has no documents: ingest some first\n"


def test_a_questions_file_in_plain_text_puts_each_answer_under_its_question(qa_db, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text("What is the default R prompt?\nHow do I export a data frame to PostgreSQL?\n")
    done = cli("ask", "--questions", str(questions), "--db", qa_db, "--collection", COLLECTION, "-k", "3")
    assert done.returncode == 0, done.stderr
    blocks = done.stdout.strip().split("\n\nQ: ")
    assert blocks[0].startswith("Q: What is the default R prompt?\n") and len(blocks) == 2
    assert blocks[1].startswith("How do I export a data frame to PostgreSQL?\nNot found")


def test_a_questions_file_that_is_not_utf8_is_one_line(qa_db, tmp_path):
    questions = tmp_path / "latin1.txt"
    questions.write_bytes("What is the caf\u00e9 prompt?\n".encode("latin-1"))
    done = cli("ask", "--questions", str(questions), "--db", qa_db, "--collection", COLLECTION)
    assert done.returncode == 2
    assert done.stderr == f"error: --questions {questions}:1: not UTF-8 text (byte 0xe9); save the file as UTF-8\n"


def test_a_questions_file_saved_with_a_byte_order_mark_asks_its_first_question_as_written(qa_db, tmp_path):
    questions = tmp_path / "bom.txt"
    questions.write_bytes(codecs.BOM_UTF8 + b"What is the default prompt?\n")
    done = cli("ask", "--questions", str(questions), "--json", "--db", qa_db, "--collection", COLLECTION)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["question"] == "What is the default prompt?"


def test_odd_questions_are_answered_without_a_traceback(qa_db, tmp_path):
    # A pasted paragraph (longer than the cross-encoder reads) and bytes that are not UTF-8, as a shell passes them.
    paragraph = "I started R and the console shows a character before my cursor; " * 12 + "what is the default prompt?"
    questions = tmp_path / "q.txt"
    questions.write_text(paragraph + "\n")
    done = cli("ask", "--questions", str(questions), "--json", "--db", qa_db, "--collection", COLLECTION)
    assert done.returncode == 0, done.stderr
    check_schema(json.loads(done.stdout))
    done = subprocess.run([sys.executable, "-m", "app.cli", "ask", b"What is the caf\xe9 prompt?", "--json",
                           "--db", qa_db, "--collection", COLLECTION], cwd=ROOT, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    check_schema(json.loads(done.stdout))
