"""'How tall / how long / how often / how much a year ...?': the amount asked for (app.measures) and answers."""
from __future__ import annotations

import pytest

from app.answer import Passage, extract_answer
from app.measures import measure_asked


@pytest.mark.parametrize("question, text, states", [
    ("How tall was the keeper?", "he stood full six feet five in his stockings", True),
    ("How tall was the keeper?", "he held the rail with one hand and waved the other", False),
    ("How tall was the keeper?", "he put one foot on the ladder", True),          # words alone cannot tell
    ("How high is the tower?", "The tower rises some 120 m above the bay.", True),
    ("How long did the voyage last?", "The voyage lasted two-and-forty days.", True),
    ("How long is the label?", "A label may hold at most 80 characters.", True),
    ("How long is the label?", "The label sits on a line of its own.", False),    # 'a line' is no length
    ("How old was she?", "She was not yet fourteen years of age.", True),
    ("How old was she?", "She had two sisters and a brother.", False),
    ("How heavy is the anchor?", "The anchor weighs three tons.", True),
    ("How often are the watches changed?", "The watches are changed every four hours.", True),
    ("How much a year does he have?", "He has ten thousand a year, and a fine house.", True),
    ("How much does the ticket cost?", "A ticket costs $12 at the door.", True),
    ("How much does the ticket cost?", "Tickets are sold at the door from nine.", False),
])
def test_what_states_the_amount_a_question_asks(question, text, states):
    assert bool(measure_asked(question).amount.search(text)) is states


@pytest.mark.parametrize("question", ["How many sisters had she?", "How do I set the range?", "Who is tall?",
                                      "How much of the text is kept?"])
def test_questions_that_ask_no_measure(question):
    assert measure_asked(question) is None


def test_a_height_answers_how_tall_though_it_never_says_tall():
    passages = [Passage(id="a", text="Tobias kept the lamp for forty years. Tobias waved one hand at the boats. "
                                     "The keeper was Tobias, and the whole coast knew him.\n\n"
                                     "Tobias, a grave man, walked the gallery at night in all the pomp of six "
                                     "feet five in his boots.")]
    answer = extract_answer("How tall was Tobias?", passages)
    assert answer is not None and "six feet five" in answer.text


def test_a_long_answer_is_cut_around_the_amount():
    road = ", ".join(f"past house {n} on the road by the sea wall" for n in range(6))
    passages = [Passage(id="a", text=f"The tower that Tobias reached at last, {road}, stood forty feet above the "
                                     "rocks.")]
    answer = extract_answer("How tall was the tower that Tobias reached?", passages, max_words=20)
    assert answer is not None and "forty feet" in answer.text
