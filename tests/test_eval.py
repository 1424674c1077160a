"""`nonattn-qa eval`: metrics over a JSONL file, --json summary, bad files as one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.evaluate import EvalFileError, load_items
from test_ask_cli import ROOT, cli
from test_engine import COLLECTION, build_qa_db


@pytest.fixture(scope="module")
def qa_db(r_intro_pdf, pdf_excerpt, macbeth_txt, tmp_path_factory) -> str:
    return build_qa_db(tmp_path_factory.mktemp("eval"), r_intro_pdf, macbeth_txt, pdf_excerpt)


def test_eval_json_summary(qa_db, tmp_path):
    items = [
        prompt_question("R-intro-excerpt.pdf"),
        {"id": "b", "doc": "R-intro-excerpt.pdf", "question": "How do I export a data frame to PostgreSQL?",
         "answers": [], "evidence": None, "page": None, "kind": "unanswerable"},
    ]
    path = write_items(tmp_path, *items)
    done = cli("eval", str(path), "--json", "--db", qa_db, "--collection", COLLECTION)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    for key in ("n", "hit@1", "hit@5", "page_acc", "answer_hit", "abstain_acc", "p50_ms", "p95_ms"):
        assert key in summary
    assert summary["n"] == 2 and summary["hit@5"] == 1.0 and summary["abstain_acc"] == 1.0


def test_eval_reads_its_items_from_stdin_given_dash(qa_db):
    done = cli("eval", "-", "--json", "--db", qa_db, "--collection", COLLECTION,
               stdin=json.dumps(prompt_question("R-intro-excerpt.pdf")) + "\n")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["n"] == 1 and summary["hit@5"] == 1.0


def write_items(folder, *items: dict):
    path = folder / "dev.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def prompt_question(doc: str) -> dict:
    """R-intro's prompt question, as an eval item that names `doc`."""
    return {"id": "a", "doc": doc, "question": "What is the default R prompt?", "answers": ["‘>’"],
            "evidence": "The default prompt is ‘>’", "page": 9, "kind": "factoid"}


def test_bad_eval_file_is_a_one_line_error(qa_db, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok?"}\nnot json\n')
    with pytest.raises(EvalFileError, match="bad.jsonl:2"):
        load_items(bad)
    done = cli("eval", str(bad), "--db", qa_db, "--collection", COLLECTION)
    assert done.returncode == 2 and "bad.jsonl:2" in done.stderr and "Traceback" not in done.stderr


def test_each_question_is_asked_within_the_document_its_item_names(qa_db, tmp_path):
    """R-intro's prompt question names the Macbeth excerpt: asked there it finds nothing; --across-collection finds it."""
    path = write_items(tmp_path, prompt_question("macbeth-act1.txt"))
    within = cli("eval", str(path), "--json", "--db", qa_db, "--collection", COLLECTION)
    across = cli("eval", str(path), "--json", "--db", qa_db, "--collection", COLLECTION, "--across-collection")
    assert within.returncode == 0 and across.returncode == 0, within.stderr + across.stderr
    assert json.loads(within.stdout)["hit@5"] == 0.0
    assert json.loads(across.stdout)["hit@5"] == 1.0


def test_an_item_naming_a_document_the_collection_lacks_is_asked_across_it(qa_db, tmp_path):
    done = cli("eval", str(write_items(tmp_path, prompt_question("not-ingested.pdf"))), "--json", "--db", qa_db,
               "--collection", COLLECTION)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hit@5"] == 1.0
    assert "not-ingested.pdf" in done.stderr and "across the whole collection" in done.stderr


def test_evidence_ranks_in_each_list_and_after_fusion(qa_db):
    """app.evidence_ranks: the prompt question's evidence near the top of BM25 and of the final passages within
    R-intro; within the Macbeth excerpt in no list; the table counts each list's first 1, 5 and 15."""
    from app.engine import QAEngine
    from app.evaluate import document_scopes
    from app.evidence_ranks import BEST_SINGLE, FINAL, format_ranks, item_ranks

    engine = QAEngine.open(db=qa_db, collection=COLLECTION)
    item, elsewhere = prompt_question("R-intro-excerpt.pdf"), prompt_question("macbeth-act1.txt")
    scopes = document_scopes(engine, [item, elsewhere])
    found = item_ranks(engine.retriever, item, scopes["R-intro-excerpt.pdf"], depth=20)
    assert set(found) >= {"bm25", BEST_SINGLE, FINAL}
    assert found["bm25"] <= 5 and found[FINAL] <= 5 and found[BEST_SINGLE] == min(
        rank for name, rank in found.items() if name not in (BEST_SINGLE, FINAL) and rank is not None)
    missing = item_ranks(engine.retriever, elsewhere, scopes["macbeth-act1.txt"], depth=20)
    assert set(missing.values()) == {None}
    table = format_ranks({"a": found, "b": missing}, depth=20).splitlines()
    assert table[1].split()[0] == "a" and table[2].split()[1:] == ["-"] * len(found)
    top5 = table[4].split()
    assert top5[:2] == ["top", "5"] and top5[2 + list(found).index(FINAL)] == "1"


def test_a_follow_up_item_asks_its_earlier_questions_first(qa_db, tmp_path):
    """`history` holds the earlier turns: they are asked first, in order, each with the turns before it, and the
    item's question leans on them. A history that is not a list of questions is a one-line error."""
    from app.engine import QAEngine
    from app.evaluate import evaluate

    class Recorded:
        """The real engine, noting each question it is asked and how many earlier turns came with it."""
        def __init__(self, engine):
            self.engine, self.asked = engine, []

        def __getattr__(self, name):
            return getattr(self.engine, name)

        def ask(self, question, **kwargs):
            self.asked.append((question, len(kwargs.get("history") or [])))
            return self.engine.ask(question, **kwargs)

    history = ["Who is the Thane of Cawdor?", "What did the witches tell him?"]
    follow_up = {"id": "f", "doc": "R-intro-excerpt.pdf", "history": ["What is the default R prompt?"],
                 "question": "Can it be changed?", "answers": ["easy to change"],
                 "evidence": "it is easy to change to a different R prompt if you wish", "page": 9, "kind": "follow-up"}
    chain = dict(follow_up, id="g", doc="macbeth-act1.txt", history=history, question="Who told them?",
                 answers=[], evidence=None, page=None)
    engine = Recorded(QAEngine.open(db=qa_db, collection=COLLECTION))
    summary = evaluate(engine, load_items(write_items(tmp_path, follow_up, chain)))
    assert engine.asked == [("What is the default R prompt?", 0), ("Can it be changed?", 1),
                            (history[0], 0), (history[1], 1), ("Who told them?", 2)]
    assert summary["n"] == 2 and summary["hit@5"] == 1.0
    bad = write_items(tmp_path, dict(follow_up, history="What is the default R prompt?"))
    done = cli("eval", str(bad), "--db", qa_db, "--collection", COLLECTION)
    assert done.returncode == 2 and '"history" must be a list' in done.stderr and "Traceback" not in done.stderr


def eval_error(capsys, *args: str) -> str:
    """`nonattn-qa eval ARGS` in this process, expected to stop with exit code 2: its one line on stderr."""
    from app.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["eval", *args])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def write_lines(folder, *lines: str):
    path = folder / "dev.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


GOOD_LINE = json.dumps(prompt_question("R-intro-excerpt.pdf"))


@pytest.mark.parametrize("field, value", [
    ("answers", [1, None]), ("answers", "Zanzibar"), ("answers", {"a": 1}), ("answers", [""]),
    ("doc", 5), ("doc", ""), ("page", "one"), ("page", -3), ("page", 0), ("page", True), ("page", 9.5),
    ("evidence", 5), ("evidence", ""), ("question", ""), ("question", " \t "), ("question", 123),
    ("history", "What is R?"), ("history", [1]), ("history", [""]), ("id", [1]), ("kind", {}),
])
def test_a_bad_field_is_a_one_line_error_before_any_question(capsys, tmp_path, field, value):
    """The file, line and field in one line, exit code 2, before the engine opens: the DB does not even exist."""
    path = write_lines(tmp_path, GOOD_LINE, json.dumps({**prompt_question("R-intro-excerpt.pdf"), field: value}))
    with pytest.raises(EvalFileError, match=f'dev.jsonl:2: "{field}" '):
        load_items(path)
    err = eval_error(capsys, str(path), "--db", str(tmp_path / "no-db"))
    assert f'dev.jsonl:2: "{field}" ' in err


def test_a_line_without_a_question_or_not_an_object_is_an_error(capsys, tmp_path):
    no_db = str(tmp_path / "no-db")
    assert 'dev.jsonl:2: no "question"' in eval_error(capsys, str(write_lines(tmp_path, GOOD_LINE, "{}")), "--db",
                                                      no_db)
    assert "dev.jsonl:1: expected an object" in eval_error(capsys, str(write_lines(tmp_path, "[1, 2]")), "--db", no_db)


@pytest.mark.parametrize("line, reason", [
    ('{"question": "How tall?", "page": ' + "9" * 5000 + "}", "ValueError"),   # past Python's 4,300 digits
    ("[" * 100_000 + "]" * 100_000, "RecursionError"),
])
def test_a_line_json_cannot_read_is_one_line(capsys, tmp_path, line, reason):
    path = write_lines(tmp_path, GOOD_LINE, line)
    assert f"dev.jsonl:2: not JSON we can read ({reason})" in eval_error(capsys, str(path), "--db",
                                                                          str(tmp_path / "no-db"))


@pytest.mark.parametrize("field, message", [
    ("answer", 'unknown field "answer" (did you mean "answers"?)'),
    ("Page", 'unknown field "Page" (did you mean "page"?)'),
    ("evidance", 'unknown field "evidance" (did you mean "evidence"?)'),
    ("bogus", 'unknown field "bogus" (known: question, answers, evidence, page, doc, history, id, kind)'),
])
def test_a_misspelt_field_is_an_error_not_an_unanswerable_item(capsys, tmp_path, field, message):
    """Without the check, {"answer": [...]} would be scored as a question the documents do not answer."""
    path = write_lines(tmp_path, GOOD_LINE, json.dumps({"question": "How tall is the tower?", field: ["42 metres"]}))
    assert f"dev.jsonl:2: {message}" in eval_error(capsys, str(path), "--db", str(tmp_path / "no-db"))


def test_null_or_absent_optional_fields_load(tmp_path):
    """Only the question is required; a null `answers` or `history` is none, as an absent one is (unanswerable)."""
    path = write_lines(tmp_path, '{"question": "Who?"}', '{"question": "Who?", "answers": null, "history": null, '
                       '"doc": null, "page": null, "evidence": null, "id": 7, "kind": null}')
    for item in load_items(path):
        assert item["answers"] == [] and item["history"] == [] and item["page"] is None and item["evidence"] is None


def test_byte_order_mark_crlf_and_blank_lines_are_fine(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_LINE.encode() + b"\r\n\r\n   \r\n" + GOOD_LINE.encode() + b"\r\n")
    assert [item["question"] for item in load_items(path)] == ["What is the default R prompt?"] * 2


@pytest.mark.parametrize("content", ["", "\n  \n\t\n"])
def test_a_file_without_questions_is_an_error(capsys, tmp_path, content):
    path = tmp_path / "dev.jsonl"
    path.write_text(content)
    assert f"no questions in {path}" in eval_error(capsys, str(path), "--db", str(tmp_path / "no-db"))


@pytest.mark.parametrize("content, line", [
    (b"\xde\xad\xbe\xef\x00\xff" * 20, 1),
    (GOOD_LINE.encode() + b'\n{"question": "Who drinks caf\xe9?"}\n', 2),       # Latin-1
])
def test_a_file_that_is_not_utf8_is_an_error(capsys, tmp_path, content, line):
    path = tmp_path / "dev.jsonl"
    path.write_bytes(content)
    assert f"dev.jsonl:{line}: not UTF-8" in eval_error(capsys, str(path), "--db", str(tmp_path / "no-db"))


@pytest.mark.parametrize("k", ["0", "-1"])
def test_k_below_one_is_refused_before_the_engine_opens(capsys, tmp_path, k):
    """As `ask` does; a DB that does not exist would be a different error, had the engine been opened."""
    path = write_lines(tmp_path, GOOD_LINE)
    assert eval_error(capsys, str(path), "-k", k, "--db", str(tmp_path / "no-db")) == "error: -k must be at least 1\n"


def test_json_summary_has_null_for_a_metric_no_item_measures(qa_db, capsys, tmp_path):
    """No item has a page or is unanswerable: page_acc and abstain_acc are null, and the output is strict JSON."""
    from app.cli import main

    def no_nan(constant):
        raise AssertionError(f"{constant} is not JSON")

    item = dict(prompt_question("R-intro-excerpt.pdf"), page=None)
    assert main(["eval", str(write_items(tmp_path, item)), "--json", "--db", qa_db, "--collection", COLLECTION]) == 0
    summary = json.loads(capsys.readouterr().out, parse_constant=no_nan)
    assert summary["page_acc"] is None and summary["abstain_acc"] is None and summary["hit@5"] == 1.0


def compare_command(*args: str) -> subprocess.CompletedProcess:
    """`python -m app.evaluate --compare ARGS` as a developer runs it (the module as __main__, not imported)."""
    return subprocess.run([sys.executable, "-m", "app.evaluate", "--compare", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("args, message", [
    (["-k", "0"], "error: -k must be at least 1"),
    ([], 'dev.jsonl:2: "answers" must be'),
])
def test_compare_checks_the_dev_set_as_eval_does(tmp_path, args, message):
    """`python -m app.evaluate --compare --devset FILE`: the same one-line errors, before any document is fetched."""
    path = write_lines(tmp_path, GOOD_LINE, json.dumps(dict(prompt_question("R-intro.pdf"), answers="‘>’")))
    done = compare_command("--devset", str(path), "--db", str(tmp_path / "no-db"), *args)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_compare_needs_every_item_to_name_its_document(tmp_path):
    path = write_lines(tmp_path, GOOD_LINE, '{"id": "q2", "question": "Who?"}')
    done = compare_command("--devset", str(path), "--db", str(tmp_path / "no-db"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and 'item q2 names no "doc"' in done.stderr
