"""app.identity: 'Who is Banquo?' asks who a named person is, and a book says so where it introduces them."""
from __future__ import annotations

import pytest

from app.identity import asks_role, introduces, introduces_role, person_asked_about


@pytest.mark.parametrize("question, person", [
    ("Who is Banquo?", "Banquo"), ("Who was Mr. Hussey?", "Mr. Hussey"), ("who is Lady Macbeth", "Lady Macbeth"),
    ("Who was Sir Toby Belch?", "Sir Toby Belch"), ("Who is O'Brien?", "O'Brien"),
    ("Who is the chief mate?", None),           # asks for a name, not about one
    ("Who was Caliban's mother?", None), ("Who is He?", None), ("Who killed Duncan?", None),
    ("Who Is This Man?", None),
    ("What is Malvolio's job?", "Malvolio"), ("What is Seyton's position in Macbeth's household?", "Seyton"),
    ("What position does Kent hold?", "Kent"), ("What does Stephano do for a living?", "Stephano"),
    ("What is Autolycus by trade?", "Autolycus"), ("What is Friar Lawrence's religious order?", "Friar Lawrence"),
    ("What is the job of the steward?", None), ("What is his job?", None), ("What is Lear's daughter's job?", None),
])
def test_a_question_asking_who_a_named_person_is_or_what_they_do(question, person):
    assert person_asked_about(question) == person


@pytest.mark.parametrize("name, text", [
    ("Banquo", "MACBETH, General in the King's Army.\nBANQUO, General in the King's Army.\nMACDUFF, Nobleman."),
    ("Maria", "VIOLA, in love with the Duke.\nMARIA, Olivia's Woman.\n"),
    ("Stubb", "Stubb was the second mate. He was a native of Cape Cod;"),
    ("Starbuck", "The chief mate of the Pequod was Starbuck, a native of Nantucket, and a Quaker by descent."),
    ("Mr. Hussey", "Mr. Hussey was not a man to hurry his chowder, whatever his guests said."),
])
def test_introductions(name, text):
    assert introduces(name, text)


@pytest.mark.parametrize("name, text", [
    ("Stubb", 'said Ahab, "that thou wouldst wad me that\nStubb, what of it, Stubb? Here\'s a carcase. I know not'),
    ("Starbuck", '"Halloa!" returned Starbuck, turning round not a single inch as he spoke;'),
    ("Banquo", "[Enter Banquo, and Fleance with a torch.]\nBANQUO. It will be rain to-night."),
])
def test_mentions_that_do_not_introduce(name, text):
    assert not introduces(name, text)


@pytest.mark.parametrize("name, text, says_role", [
    ("Malvolio", "MALVOLIO, Steward to Olivia.", True),
    ("Antonio", "ANTONIO, a Sea Captain, friend to Sebastian.", True),
    ("Stubb", "Stubb was the second mate. He was a native of Cape Cod;", True),
    ("Fleance", "BANQUO, General in the King's Army.\nFLEANCE, Son to Banquo.", False),
    ("Lady Macbeth", "LADY MACBETH, wife to Macbeth", False),
])
def test_an_introduction_that_gives_only_a_relative_says_no_role(name, text, says_role):
    assert introduces(name, text)
    assert introduces_role(name, text) == says_role


def test_a_role_question_is_told_from_a_who_is_question():
    assert asks_role("What is Fleance's profession?") and asks_role("What does Stephano do for a living?")
    assert not asks_role("Who is Fleance?")
