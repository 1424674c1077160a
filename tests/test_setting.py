"""app.setting: 'Where is the play set?' and the line where a play states its setting."""
from __future__ import annotations

import pytest

from app.lookups import lookup_for
from app.setting import asks_setting, states_setting


@pytest.mark.parametrize("question, asks", [
    ("In which city is the play set?", True), ("In which country is the play set?", True),
    ("Where is the play set?", True), ("What is the setting of the play?", True),
    ("Where does the story take place?", True),
    ("Where is Macbeth's castle?", False), ("Where is the set command documented?", False),
    ("How do I set the plot title?", False),
])
def test_a_question_asking_where_the_play_is_set(question, asks):
    assert asks_setting(question) is asks
    assert (lookup_for(question) is not None and lookup_for(question).kind == "setting") is asks


@pytest.mark.parametrize("text, states", [
    ("Lords, Priests, Sailors.\n\nSCENE: A City in Illyria; and the Sea-coast near it.\n", True),
    ("SCENE.--During the greater part of the Play in Verona; once, in the Fifth Act, at Mantua.", True),
    ("SCENE:\nThe sea, with a Ship; afterwards an Island", True),
    ("ACT I.\n\nSCENE I. A heath.", False), ("ACT I, SCENE II. A Camp near Forres", False),
    ("The scene: a heath at night.", False),
])
def test_the_line_stating_a_plays_setting(text, states):
    assert states_setting(text) is states


def test_a_question_about_a_person_looks_for_their_introduction():
    lookup = lookup_for("Who is Banquo?")
    assert lookup.kind == "identity" and lookup.holds_answer("BANQUO, General in the King's Army.")
    assert lookup_for("What is the default R prompt?") is None
