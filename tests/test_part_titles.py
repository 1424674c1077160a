"""'What is chapter 42 called?', 'Where does Act 1, Scene 2 take place?': the part's heading (app.part_titles)."""
from __future__ import annotations

import pytest

from app.part_titles import asks_part_gist, asks_part_title, heading_at, heading_title, is_heading_of, opening_after
from app.sections import section_ref


@pytest.mark.parametrize("question, asks", [
    ("What is chapter 42 called?", True), ("What is the title of Chapter IX?", True),
    ("What is the name of chapter nine?", True), ("What is chapter 3 titled?", True),
    ("Where does Act 2, Scene 1 take place?", True), ("Where is Act I, Scene 3 set?", True),
    ("What is the name of the ship in chapter 16?", False),     # the ship's name, asked of the chapter
    ("What is the ship called in chapter 16?", False),
    ("Where does Act 2 take place?", False),                    # an act has no place of its own
    ("Where does the duel take place in chapter 5?", False),    # a chapter's title is no place
    ("What is the title of the last chapter?", False),          # counted: which heading is its, the rows tell
    ("Where is the play set?", False), ("In Act 3, Scene 1, who is slain?", False),
])
def test_a_question_asking_a_parts_title_or_place(question, asks):
    assert asks_part_title(question) is asks


@pytest.mark.parametrize("heading, title", [
    ("CHAPTER 42. The Whiteness of The Whale", "The Whiteness of The Whale"),
    ("ACT II, SCENE I. Inverness. Court within the Castle", "Inverness. Court within the Castle"),
    ("ACT I, Scene V. A Hall in Capulet's House.", "A Hall in Capulet's House"),
    ("Chapter 9", None), ("ACT III", None), ("Preface", None),
])
def test_the_title_a_heading_gives_after_its_number(heading, title):
    assert heading_title(heading) == title


def test_a_heading_opens_the_part_with_its_numbers():
    ref = section_ref("Where does Act 2, Scene 1 take place?")
    assert is_heading_of(ref, "ACT II, SCENE I. Inverness. Court within the Castle")
    assert not is_heading_of(ref, "ACT I, SCENE I. An open Place.")


def test_a_heading_is_found_as_the_text_prints_it():
    text = "Exit.\n\nACT II.\n\nSCENE I. Inverness.  Court within the\nCastle.\n\nEnter Banquo."
    start, end = heading_at(text, "ACT II, SCENE I. Inverness. Court within the Castle")
    assert text[start:end] == "SCENE I. Inverness.  Court within the\nCastle"
    assert heading_at(text, "CHAPTER 4. Elsewhere") is None


@pytest.mark.parametrize("question, asks", [
    ("What happens in chapter 110?", True), ("What is chapter XII about?", True),
    ("What happens in Act 3, Scene 1?", True),
    ("What happens to Ahab in chapter 135?", False),    # about Ahab: asked of the chapter's text
    ("What happens in the last chapter?", False), ("What is the chapter about?", False),
])
def test_a_question_asking_what_happens_in_a_part(question, asks):
    assert asks_part_gist(question) is asks


def test_a_parts_opening_is_whole_sentences_after_its_heading():
    text = ("SCENE III. A heath.\n\n[Thunder. Enter the three Witches.]\n\nFIRST WITCH. Where hast thou been, "
            "sister?\n\nSECOND WITCH. Killing swine.\n\nTHIRD WITCH. Sister, where thou?")
    start, end = opening_after(text, len("SCENE III. A heath"), max_words=16)
    assert text[start:end].startswith("[Thunder. Enter the three Witches.]")
    assert text[start:end].endswith("Killing swine.")
    start, end = opening_after(text, len("SCENE III. A heath"), max_words=14)
    assert text[start:end].endswith("sister?"), "whole sentences, not a speaker's label left last"
