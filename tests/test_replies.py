"""A speaker's reply in a play (app.replies): the question, and the words after what it describes."""
from __future__ import annotations

import pytest

from app.answer import Passage
from app.replies import ReplyAsked, find_reply, reply_asked

# An invented scene: the news of a death, a reply that shares no word with any question about it, a death inside
# a speech, and a shortened label.
SCENE = """ACT II. SCENE I. A garden.

[Enter Orsino and Beatrix.]

Beatrix.
My lord, a rider from the coast brings word.

Orsino.
What word? Speak plainly.

Beatrix.
Your brother's ship went down; the captain says that none was saved.

Orsino.
Then let the bells be still. I will not weep before the household.

Mess.
The queen is at the gate, my lord.

Orsino.
Bid her come in. [Drinks from the cup.] This wine is bitter; the room turns.
[Falls.]
O Beatrix, I am poisoned.

Beatrix.
Help, ho! The duke is dying.
"""


def passage(text: str, chunk_id: str = "scene") -> Passage:
    return Passage(id=chunk_id, text=text, speaker="", speaker_names={"Mess": "Messenger"},
                   chunk_span=(0, len(text)))


def no_idf(term: str) -> float:
    return 1.0


@pytest.mark.parametrize("question, name, cue", [
    ("What does Orsino say when Beatrix tells him his brother's ship went down?", "Orsino",
     "when Beatrix him his brother's ship went down"),
    ("How does Macduff react when he hears that his children were killed?", "Macduff",
     "when he that his children were killed"),
    ("What does the Nurse reply after Juliet asks for Romeo's name?", "Nurse", "after Juliet for Romeo's name"),
    ("What is Cordelia's answer to her father's question about her love?", "Cordelia",
     "to her father's question her love"),
])
def test_a_question_asking_for_a_speakers_reply(question, name, cue):
    assert reply_asked(question) == ReplyAsked(name, cue)


@pytest.mark.parametrize("question", [
    "What does Hamlet say to Ophelia?",                 # whom he speaks to, not what he answers
    "What does Orsino say?",
    "What are Romeo's last words?",
    "Who says 'a plague on both your houses'?",
    "What does his brother say when the ship sinks?",
])
def test_other_questions_ask_for_no_reply(question):
    assert reply_asked(question) is None


def test_the_reply_is_the_speakers_words_after_the_words_holding_the_cue():
    asked = reply_asked("What does Orsino say when he learns that his brother's ship was lost?")
    found = find_reply(asked, [passage(SCENE)], no_idf)
    assert found.speaker == "Orsino"
    assert SCENE[found.start:found.end] == "Then let the bells be still. I will not weep before the household."


def test_words_after_a_stage_direction_inside_a_speech_answer_what_it_shows():
    asked = reply_asked("What does Orsino say after he drinks and falls?")
    found = find_reply(asked, [passage(SCENE)], no_idf)
    assert SCENE[found.start:found.end] == "O Beatrix, I am poisoned."


def test_a_shortened_label_counts_as_the_name_it_stands_for():
    asked = reply_asked("What does Orsino answer when the Messenger announces the queen at the gate?")
    found = find_reply(asked, [passage(SCENE)], no_idf)
    assert SCENE[found.start:found.end].startswith("Bid her come in.")


def test_a_name_the_words_before_lack_or_a_cue_they_hold_too_little_of_gives_no_reply():
    for question in ("What does Orsino say when Malvolio tells him his brother's ship went down?",
                     "What does Orsino say when the gardener brings him roses from the orchard?"):
        assert find_reply(reply_asked(question), [passage(SCENE)], no_idf) is None


def test_a_reply_the_passage_cuts_off_after_the_label_is_read_from_the_next_passage():
    cut = SCENE.index("Then let the bells")
    first, second = passage(SCENE[:cut], "one"), passage(SCENE[cut:], "two")
    asked = reply_asked("What does Orsino say when Beatrix tells him that none was saved?")
    found = find_reply(asked, [first], no_idf, next_passage=lambda p: second if p is first else None)
    assert found.passage is second
    assert second.text[found.start:found.end].startswith("Then let the bells be still.")


def test_outside_a_play_there_is_no_reply():
    prose = Passage(id="novel", text=SCENE, speaker=None, chunk_span=(0, len(SCENE)))
    assert find_reply(reply_asked("What does Orsino say when Beatrix tells him his brother's ship went down?"),
                      [prose], no_idf) is None
