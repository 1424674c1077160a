"""'Who wrote Moby Dick?': the question, and the byline under a book's title that answers it (app.authorship)."""
from __future__ import annotations

import pytest

from app.answer import Passage, extract_answer
from app.authorship import asks_author, names_author, title_words


@pytest.mark.parametrize("question, asks", [
    ("Who wrote Moby Dick?", True), ("Who is the author of the novel?", True), ("Who was the playwright?", True),
    ("By whom was the play written?", True), ("What is the name of the author?", True),
    ("Who wrote the letter that fooled Malvolio?", True),        # asked; only a byline naming 'letter' would do
    ("Who is the narrator?", False), ("What did Ahab write in the log?", False),
])
def test_a_question_asking_who_wrote_the_book(question, asks):
    assert asks_author(question) is asks


def test_a_byline_answers_only_under_the_title_the_question_gives():
    page = "MOBY DICK; OR THE WHALE\n\nBy Herman Melville\n\n\nOriginal Transcriber's Notes:"
    assert names_author(title_words("Who wrote Moby Dick?"), page)
    assert names_author(title_words("Who is the author of the novel?"), page)
    assert not names_author(title_words("Who wrote The Tempest?"), page)
    assert not names_author([], "The harpoon was darted by Queequeg, whose aim was true.")   # no byline line


def test_the_byline_is_the_answer():
    passages = [Passage(id="a", text="'Moby Dick!' cried Don Sebastian; 'whom call you Moby Dick? Who wrote of him "
                                     "in the log, that Moby Dick was seen?'"),
                Passage(id="b", text="MOBY DICK; OR THE WHALE\n\nBy Herman Melville\n\n\nETYMOLOGY.")]
    answer = extract_answer("Who wrote Moby Dick?", passages)
    assert answer is not None and "Herman Melville" in answer.text
