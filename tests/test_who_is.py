"""'Who is Caliban?' and 'Where is the play set?' on a real play in a real embedded Chroma: answered from the
cast list that introduces him and the line that states the setting, not from the scenes that name him most."""
from __future__ import annotations

import pytest

from app.engine import QAEngine

COLLECTION = "who-is"


@pytest.fixture(scope="module")
def engine(fetch_doc, tmp_path_factory) -> QAEngine:
    """The Tempest's cast list and its first two scenes (Caliban and Ariel are named there often)."""
    from ingest.pipeline import IngestOptions, ingest_paths
    from ingest.store import Store

    root = tmp_path_factory.mktemp("who-is")
    text = fetch_doc("tempest.txt").read_text(encoding="utf-8", errors="replace")
    play = root / "tempest-opening.txt"
    play.write_text(text[: text.find("ACT 2")], encoding="utf-8")
    summary = ingest_paths([str(play)], Store.open(db=str(root / "db")), collection=COLLECTION,
                           options=IngestOptions(device="cpu"))
    assert not summary.failed, summary.failed
    return QAEngine.open(db=str(root / "db"), collection=COLLECTION)


@pytest.mark.parametrize("question, introduction", [("Who is Caliban?", "CALIBAN, a savage and deformed Slave"),
                                                    ("Who is Ariel?", "ARIEL, an airy Spirit")])
def test_who_a_person_is_comes_from_where_the_play_introduces_them(engine, question, introduction):
    result = engine.ask(question)
    assert result.answer is not None and result.answer.startswith(introduction)
    assert any(introduction in passage.text for passage in result.passages[:2]), "introductions come first"


def test_a_question_asking_for_a_name_is_not_about_one(engine):
    """'Who is the usurping Duke of Milan?' wants a name: no introduction is looked for, the cast list still
    answers it."""
    result = engine.ask("Who is the usurping Duke of Milan?")
    assert result.answer is not None and "ANTONIO" in result.answer


def test_where_the_play_is_set_comes_from_its_scene_line(engine):
    """The Tempest states its setting once, after the cast list ('SCENE:' / 'The sea, with a Ship; afterwards an
    Island'); the question shares no word with it but 'play'."""
    result = engine.ask("What is the setting of the play?")
    assert result.answer is not None and result.answer.startswith("SCENE: The sea, with a Ship")
