"""`nonattn-qa eval`: metrics over a JSONL file, --json summary, bad files as one-line errors."""
from __future__ import annotations

import json

import pytest

from app.evaluate import EvalFileError, load_items
from test_ask_cli import cli
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
