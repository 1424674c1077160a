"""app.sections: the part of a book a question names, the question without it, and the chunks inside that part."""
from __future__ import annotations

import pytest

from app.sections import (LAST, SMALLEST, SectionRef, asks_for_part, chunks_in_section, number_value, section_ref,
                          without_section_ref)

# One play's chunks in reading order, each with the titles of the sections it holds (as ingest records them).
PLAY = [["ACT I", "ACT I, SCENE I. A desert place"], ["ACT I, SCENE II. A Camp"], ["ACT I, SCENE III. A heath"],
        ["ACT I, SCENE III. A heath", "ACT II, SCENE I. Inverness"], ["ACT II, SCENE II. The same"],
        ["ACT V, SCENE I. Dunsinane"], ["ACT V, SCENE I. Dunsinane", "ACT V, SCENE II. The country"]]


@pytest.mark.parametrize("text, value", [("12", 12), ("XII", 12), ("xiv", 14), ("IV", 4), ("twelve", 12),
                                         ("MCMXC", 1990), ("vex", None), ("word", None)])
def test_numbers_are_read_as_digits_roman_numerals_or_words(text, value):
    assert number_value(text) == value


@pytest.mark.parametrize("question, parts, counted", [
    ("In Act 5, Scene 1, what does Lady Macbeth do?", (("act", 5), ("scene", 1)), set()),
    ("What happens in chapter XII?", (("chapter", 12),), set()),
    ("In act iv scene i, who enters?", (("act", 4), ("scene", 1)), set()),
    ("How does Ahab die in the last chapter?", (("chapter", LAST),), {"chapter"}),
    ("Who speaks in the third act?", (("act", 3),), {"act"}),
    ("In Book Two, Chapter Three, who arrives?", (("book", 2), ("chapter", 3)), set()),
    ("In the opening scene, who speaks first?", (("scene", 1),), {"scene"}),
    ("What does Ahab say in the closing chapter?", (("chapter", LAST),), {"chapter"}),
    ("Which ship rescued Ishmael at the end?", ((SMALLEST, LAST),), {SMALLEST}),
    ("Who is king at the end of the play?", ((SMALLEST, LAST),), {SMALLEST}),
    ("In the end, whom does she marry?", ((SMALLEST, LAST),), {SMALLEST}),
    ("How does the novel end?", ((SMALLEST, LAST),), {SMALLEST}),
    ("Whose death is Olivia mourning when the play begins?", ((SMALLEST, 1),), {SMALLEST}),
    ("What happens at the very beginning of the book?", ((SMALLEST, 1),), {SMALLEST}),
    ("At the end of Act 3, who enters?", (("act", 3),), set()),        # the act it names is where
    ("Whom does she marry by the close of the novel?", ((SMALLEST, LAST),), {SMALLEST}),
    ("What is the last sentence of the novel?", ((SMALLEST, LAST),), {SMALLEST}),
    ("What truth is acknowledged, according to the opening of the novel?", ((SMALLEST, 1),), {SMALLEST}),
    ("How does the book begin?", ((SMALLEST, 1),), {SMALLEST}),
    ("What is the first line of the play?", ((SMALLEST, 1),), {SMALLEST}),
])
def test_a_question_naming_a_part_of_a_book(question, parts, counted):
    assert section_ref(question) == SectionRef(parts, frozenset(counted))


@pytest.mark.parametrize("question", ["What is the scene i like best?", "What part of the file holds the data?",
                                      "How do I act on a signal?", "Which book does the narrator quote?",
                                      "What file does R save objects to at the end of a session?",
                                      "How do I jump to the end of the line?", "What does the end key do?",
                                      "When does the play's first performance begin?"])
def test_ordinary_words_are_not_parts_of_a_book(question):
    assert section_ref(question) is None and without_section_ref(question) == question


@pytest.mark.parametrize("question, asked", [
    ("In Act 2, Scene 3, who knocks at the gate?", "who knocks at the gate?"),
    ("How does Ahab die in the last chapter?", "How does Ahab die?"),
    ("Who is slain in Act 3, Scene 1?", "Who is slain?"),
    ("What happens in Act V?", "What happens?"),
    ("In which chapter does Ishmael meet Queequeg?", "does Ishmael meet Queequeg?"),
    ("Which ship rescued Ishmael at the end?", "Which ship rescued Ishmael?"),
    ("In the end, whom does she marry?", "whom does she marry?"),
    ("Whose death is Olivia mourning when the play begins?", "Whose death is Olivia mourning?"),
    ("At the end of Act 3, who enters?", "who enters?"),
    ("How does the novel end?", "How does the novel end?"),          # that is what it asks
    ("What is the first line of the play?", "What is the first line of the play?"),
    ("What truth is acknowledged, according to the opening of the novel?", "What truth is acknowledged?"),
    ("Who dies in Act 5 of the play?", "Who dies?"),
])
def test_the_question_without_its_part_asks_what_is_wanted(question, asked):
    assert without_section_ref(question) == asked


@pytest.mark.parametrize("question, chunks", [
    ("in Act 1, Scene 3", [2, 3]),            # the scene, and the chunk it runs on into
    ("in Act 2", [3, 4]),                     # a chunk where the act begins is in it
    ("in Act 5", [5, 6]),
    ("in the first scene", [0]),
    ("in the last scene", [6]),               # the last act's last scene, not every act's highest number
    ("in scene 1", [0, 3, 5, 6]),             # no act named: every act's first scene
    ("in Act 2, the last scene", [4]),
    ("in Act 4", []),                         # the play has no such act
    ("in chapter 3", []),
    ("at the end", [6]),                      # the last scene
    ("at the beginning", [0]),                # the first scene
])
def test_chunks_inside_the_named_part(question, chunks):
    assert chunks_in_section(section_ref(question), PLAY) == chunks


def test_the_end_of_a_book_runs_on_to_its_epilogue_and_holds_at_least_a_share_of_it():
    with_prologue_and_epilogue = [["PROLOGUE"]] + PLAY + [["EPILOGUE"]]
    assert chunks_in_section(section_ref("at the end"), with_prologue_and_epilogue) == [7, 8]
    assert chunks_in_section(section_ref("at the beginning"), with_prologue_and_epilogue) == [0, 1]
    long_front_matter = [[]] * 93 + PLAY                    # 100 chunks: the end is at least its last 5
    assert chunks_in_section(section_ref("at the end"), long_front_matter) == list(range(95, 100))


def test_a_document_without_parts_has_no_end_to_search_alone():
    assert chunks_in_section(section_ref("at the end"), [["2.1 Vectors"], ["2.2 Lists"]]) == []


@pytest.mark.parametrize("question, asks", [("In which chapter does Ishmael meet Queequeg?", True),
                                            ("What act is the banquet in?", True),
                                            ("Which scene has the witches?", True),
                                            ("Which section of the manual covers loops?", True),
                                            ("Which part of the file holds the header?", False),
                                            ("Which book does the narrator quote?", False),
                                            ("What does the scene show?", False),
                                            ("In Act 3, who dies?", False)])
def test_a_question_asking_in_which_part(question, asks):
    assert asks_for_part(question) is asks
