"""Metric definitions, and a check that every dev-set evidence string is really on its stated page."""
import json
import math
from pathlib import Path

import pytest

from app.metrics import (abstained_correctly, answer_hit, contains, hit_at_1, hit_at_5, page_correct, percentile,
                         score_item, summarize)
from app.text_utils import collapse_ws

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "examples" / "devset.jsonl"


def test_matching_ignores_case_whitespace_quotes_and_line_end_hyphens():
    assert contains("The default\n  prompt is ‘>’", "default prompt is '>'")
    assert contains("there are about 25 pack-\nages supplied", "25 packages supplied")
    assert not contains("set xrange", "set yrange")


def test_hit_at_1_looks_only_at_first_400_words_of_first_passage():
    evidence = "the needle sentence"
    assert hit_at_1(evidence, ["x " * 10 + "the needle sentence", "other"])
    assert not hit_at_1(evidence, ["x " * 398 + "the needle sentence"])  # starts at word 399, ends past 400
    assert not hit_at_1(evidence, ["other", "the needle sentence"])
    assert not hit_at_1(evidence, [])


def test_hit_at_5_joins_top_five_and_cuts_at_1500_words():
    evidence = "needle in five"
    assert hit_at_5(evidence, ["a", "b", "c", "d", "needle in five"])
    assert not hit_at_5(evidence, ["a", "b", "c", "d", "e", "needle in five"])
    assert not hit_at_5(evidence, ["w " * 1500, "needle in five"])


def test_page_answer_and_abstention():
    assert page_correct(12, 12) and not page_correct(12, 13) and not page_correct(12, None)
    assert answer_hit([".RData"], "objects are written to a file called .RData5")
    assert not answer_hit([".RData"], None)
    assert not answer_hit(["x"], "x " + "word " * 60)  # more than 60 words is not an answer
    assert abstained_correctly(False, None) and not abstained_correctly(False, "something")
    assert abstained_correctly(True, "something") and not abstained_correctly(True, None)


def test_percentile_matches_linear_interpolation():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 95) == 10
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == pytest.approx(9.55)
    assert math.isnan(percentile([], 50))


def test_score_and_summarize():
    answerable = {"id": "a", "kind": "factoid", "answers": ["100"], "evidence": "set to 100 points", "page": 3}
    unanswerable = {"id": "u", "kind": "unanswerable", "answers": [], "evidence": None, "page": None}
    outcomes = [score_item(answerable, ["sampling is set to 100 points."], "set to 100 points", 3),
                score_item(unanswerable, ["whatever"], None, None),
                score_item(answerable, ["nothing"], None, None)]
    assert outcomes[1]["hit@1"] is None and outcomes[1]["abstain_ok"] is True
    s = summarize(outcomes, [0.1, 0.2, 0.3])
    assert s["hit@1"] == 0.5 and s["answer_hit"] == 0.5 and s["page_acc"] == 0.5
    assert s["abstain_acc"] == 1.0 and s["false_abstain"] == 0.5
    assert s["p50_ms"] == pytest.approx(200)



def test_answers_without_evidence_still_count_as_answerable():
    """An item is unanswerable only when it has no answers; without an evidence text it counts for answer hit and
    abstention, not for the retrieval metrics."""
    no_evidence = {"id": "b", "kind": "paraphrase", "answers": ["convert-ly"], "evidence": None, "page": None}
    answered = score_item(no_evidence, ["run convert-ly on the file"], "Run convert-ly on old files.", None)
    abstained = score_item(no_evidence, ["whatever"], None, None)
    assert answered["hit@1"] is None and answered["hit@5"] is None and answered["page"] is None
    assert answered["answer_hit"] is True and answered["abstain_ok"] is True
    assert abstained["answer_hit"] is False and abstained["abstain_ok"] is False
    s = summarize([answered, abstained])
    assert s["answer_hit"] == 0.5 and s["false_abstain"] == 0.5 and math.isnan(s["abstain_acc"])


def test_a_page_without_evidence_still_scores_the_first_citation():
    item = {"id": "c", "kind": "factoid", "answers": ["convert-ly"], "evidence": None, "page": 12}
    assert score_item(item, ["whatever"], "Run convert-ly.", 12)["page"] is True
    assert score_item(item, ["whatever"], "Run convert-ly.", 13)["page"] is False
    assert score_item({**item, "answers": []}, ["whatever"], None, None)["page"] is None   # unanswerable

# ---- the dev set itself -------------------------------------------------------------------------------------
def load_devset():
    return [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_devset_schema():
    items = load_devset()
    assert len(items) >= 60
    assert len({it["id"] for it in items}) == len(items)
    kinds = [it["kind"] for it in items]
    assert set(kinds) <= {"factoid", "paraphrase", "context", "unanswerable"}
    assert 6 <= kinds.count("unanswerable") <= 12
    forbidden = ("hamlet", "austen", "octave", "asymptote", "emma", "pride", "persuasion")
    for it in items:
        assert not any(f in it["doc"].lower() for f in forbidden), it["doc"]
        if it["kind"] == "unanswerable":
            assert it["answers"] == [] and it["evidence"] is None and it["page"] is None
        else:
            assert it["answers"] and 4 <= len(it["evidence"].split()) <= 25, it["id"]
            assert it["evidence"] == collapse_ws(it["evidence"])
            assert (it["page"] is None) == (not it["doc"].endswith(".pdf")), it["id"]


@pytest.fixture
def doc_path():
    """Path of a dev-set document via examples/fetch_docs.py; $NONATTN_DOCS (a folder) overrides; skip if neither."""
    import os

    def resolve(name: str) -> Path:
        local = os.environ.get("NONATTN_DOCS")
        if local and (Path(local) / name).exists():
            return Path(local) / name
        try:
            from examples.fetch_docs import FetchError, fetch
        except ImportError:
            pytest.skip("examples/fetch_docs.py not available")
        try:
            return Path(fetch(name))
        except FetchError as e:
            pytest.skip(f"cannot fetch {name}: {e}")
    return resolve


def test_devset_evidence_is_on_its_page(doc_path):
    pypdf = pytest.importorskip("pypdf")
    items = [it for it in load_devset() if it["evidence"] is not None]
    missing = []
    for doc in sorted({it["doc"] for it in items}):
        path = doc_path(doc)
        if doc.endswith(".pdf"):
            reader = pypdf.PdfReader(str(path))
            wanted = {it["page"] for it in items if it["doc"] == doc}  # only those pages: the PDFs are long
            pages = {n: collapse_ws(reader.pages[n - 1].extract_text() or "") for n in wanted}
            text_of = lambda it: pages[it["page"]]  # noqa: E731
        else:
            whole = collapse_ws(path.read_text(encoding="utf-8", errors="replace"))
            text_of = lambda it: whole  # noqa: E731
        missing += [f"{it['id']}: {it['evidence']!r}" for it in items if it["doc"] == doc and it["evidence"] not in text_of(it)]
    assert not missing, "\n".join(missing)
