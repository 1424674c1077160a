"""'Who is the narrator?': the question, and where a first-person narrator names themself (app.narrator)."""
from __future__ import annotations

import pytest

from app.answer import Passage, extract_answer
from app.narrator import asks_narrator, names_narrator


@pytest.mark.parametrize("question, asks", [
    ("Who is the narrator?", True), ("Who narrates the novel?", True), ("What is the narrator's name?", True),
    ("What name does the narrator ask to be called?", True), ("Who tells the story?", True),
    ("What does the narrator do when he feels gloomy?", False), ("Who is the captain?", False),
])
def test_a_question_asking_who_tells_the_story(question, asks):
    assert asks_narrator(question) is asks


@pytest.mark.parametrize("text, names", [
    ("CHAPTER 1.\n\nCall me Tobias. Some years ago I went to sea.", True),
    ("My name is Pip Gargery, and I was raised by hand.", True),
    ('"My name is Tom," said the stranger, "and I keep the light."', False),        # a character, in dialogue
    ("They call it the Lantern, and nobody knows why.", False),
])
def test_a_narrator_naming_themself_outside_dialogue(text, names):
    assert names_narrator(text) is names


def test_the_narrator_is_answered_from_where_they_name_themself():
    passages = [Passage(id="a", text="The keeper of the light was a tall man. He spoke little and smoked a pipe."),
                Passage(id="b", text="CHAPTER 1. The Lamp.\n\nCall me Tobias. I kept the lamp for forty years.")]
    answer = extract_answer("Who is the narrator?", passages)
    assert answer is not None and "Call me Tobias" in answer.text
