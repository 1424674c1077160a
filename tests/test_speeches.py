"""A speaker's last (first) words in a play (app.speeches): the question, and where the play has them."""
from __future__ import annotations

import pytest

from app.speakers import speeches
from app.speeches import SpeechAsked, book_words, death_asked, death_place, speech_asked, spoken_words

CAST = """THE PERSONS OF THE PLAY

Orsino.
Beatrix.
A Watchman.

"""
# An invented play's end: a long last speech that shares no word with the question, a death, an exit.
PLAY = """ACT V. SCENE III. A tomb.

[Enter Orsino and Beatrix.]

Orsino.
Is this the vault?

Beatrix.
It is; and here the old lord sleeps.

Orsino.
Then let me look upon her face once more,
And say what I have never said aloud:
That all my days were hers. [Kneels.] Farewell, farewell!
Cold lips, be warm again.--Thus ends my story.

[Dies.]

Beatrix.
He is gone. Call the watch.

[Exeunt.]
"""


@pytest.mark.parametrize("question, name, last", [
    ("What are Romeo's last words before he dies?", "Romeo", True),
    ("What were King Lear's dying words?", "King Lear", True),
    ("What is Juliet's first line?", "Juliet", False),
    ("What are the last words of Mercutio?", "Mercutio", True),
    ("What is the first line spoken by Lady Capulet?", "Lady Capulet", False),
    ("What is the last thing Orsino says?", "Orsino", True),
    ("What does Beatrix say first?", "Beatrix", False),
])
def test_a_question_asking_for_a_speakers_last_or_first_words(question, name, last):
    assert speech_asked(question) == SpeechAsked(name, last)


@pytest.mark.parametrize("question, last, who, work", [
    ("What are the last words of the play?", True, False, "play"),
    ("What is the opening sentence of the novel?", False, False, "novel"),
    ("Who speaks the last lines of the play?", True, True, ""),
    ("Who speaks first?", False, True, ""),
    ("How does the novel end?", True, False, "novel"),
    ("How does the play begin?", False, False, "play"),
])
def test_a_question_asking_for_the_works_own_first_or_last_words(question, last, who, work):
    assert speech_asked(question) == SpeechAsked(None, last, who, work)


@pytest.mark.parametrize("question, in_a_play, in_prose", [
    ("What are Romeo's last words?", True, False), ("Who speaks first?", True, False),
    ("What is the last line of the play?", True, False), ("How does the novel end?", False, True),
    ("What is the first sentence of the book?", True, True),
])
def test_which_documents_can_answer(question, in_a_play, in_prose):
    asked = speech_asked(question)
    assert (asked.fits(is_play=True), asked.fits(is_play=False)) == (in_a_play, in_prose)


@pytest.mark.parametrize("question", ["What are his last words?", "What does Romeo say about Juliet?",
                                      "What is the first line of the file?", "Who speaks about the storm?"])
def test_other_questions_ask_for_no_speech(question):
    assert speech_asked(question) is None


def test_speeches_run_from_their_label_to_the_next_one_directions_inside():
    found = [(label, PLAY[start:end].strip()) for label, start, end in speeches(PLAY)]
    assert [label for label, _ in found] == ["Orsino", "Beatrix", "Orsino", "Beatrix"]
    assert found[2][1].startswith("Then let me look") and found[2][1].endswith("[Dies.]")


def test_the_last_words_close_the_last_speech_and_the_first_open_the_first():
    last = spoken_words(PLAY, SpeechAsked("Orsino", True))
    assert last.label == "Orsino"
    # whole sentences, 25 words at most: the sentence before ('Then let me look ... were hers.') would pass that
    assert PLAY[last.start:last.end] == "Farewell, farewell!\nCold lips, be warm again.--Thus ends my story."
    first = spoken_words(PLAY, SpeechAsked("Beatrix", False))
    assert PLAY[first.start:first.end] == "It is; and here the old lord sleeps."
    assert spoken_words(PLAY, SpeechAsked("Hero", True)) is None


def test_a_titled_name_finds_the_speaker_labelled_without_the_title_and_shortened_labels_their_name():
    assert spoken_words(PLAY, SpeechAsked("Duke Orsino", True)).label == "Orsino"
    shortened = PLAY.replace("Beatrix.\n", "Bea.\n")
    assert spoken_words(shortened, SpeechAsked("Beatrix", True), {"Bea": "Beatrix"}).label == "Bea"


def test_the_plays_own_words_are_its_first_and_last_speeches_after_the_cast_list():
    play = CAST + PLAY
    first = spoken_words(play, SpeechAsked(None, False))
    assert first.label == "Orsino" and play[first.start:first.end] == "Is this the vault?"
    last = spoken_words(play, SpeechAsked(None, True, who=True))
    assert last.label == "Beatrix" and play[last.start:last.end] == "He is gone. Call the watch."


def test_a_novels_first_words_follow_its_first_chapters_heading_and_its_last_close_its_text():
    novel = "THE KEEPER\n\nContents\n\n\nCHAPTER 1. The Lamp.\n\nCall me Tom. I kept the light.\n\nThe end came.\n"
    first = book_words(novel, last=False, first_part=novel.index("CHAPTER 1"))
    assert novel[first.start:first.end] == "Call me Tom. I kept the light."
    last = book_words(novel, last=True)
    assert novel[last.start:last.end].endswith("The end came.")


def test_of_a_sentence_too_long_to_quote_whole_its_last_lines_are_quoted():
    speech = ("What's more to do,\nWhich would be planted newly with the time,--\nAs calling home our friends abroad,\n"
              "That fled the snares of watchful tyranny;\nSo, thanks to all at once, and to each one,\n"
              "Whom we invite to see us crown'd at Scone.\n")
    play = "ACT V. SCENE I. A field.\n\nMalcolm.\n" + speech
    last = spoken_words(play, SpeechAsked("Malcolm", True))
    # 19 words: the line before ('That fled the snares of watchful tyranny;') would make 26
    assert play[last.start:last.end] == ("So, thanks to all at once, and to each one,\n"
                                         "Whom we invite to see us crown'd at Scone.")


@pytest.mark.parametrize("question, name", [
    ("How does Juliet die?", "Juliet"), ("Who kills Tybalt?", "Tybalt"), ("Who killed Mercutio?", "Mercutio"),
    ("How is Polonius killed?", "Polonius"), ("With what does Juliet kill herself?", "Juliet"),
    ("Where did Lady Macbeth die?", "Lady Macbeth"),
    ("How does the story end?", None), ("Who kills the king's guards?", None), ("What does Romeo kill?", None),
])
def test_a_question_asking_how_or_by_whom_someone_dies_looks_near_their_last_words(question, name):
    asked = death_asked(question)
    assert (asked.name if asked else None) == name
    assert asked is None or asked.last


# An invented duel: the fight before the last words, the death after them, then another speaker.
DUEL = """Beatrix.
Put up thy sword, or I will cry the watch.

Tebaldo.
I will not, lady.--Come, sir, to it!

[They fight, and Orsino wounds him.]

Tebaldo.
Thou hast undone me. Tell my mother I was brave.

[Dies.]

Orsino.
Go, call the watch.
"""


def test_where_a_play_shows_a_death_is_around_the_last_words_with_the_fight_before_and_the_death_after():
    last = spoken_words(DUEL, SpeechAsked("Tebaldo", True))
    start, end = death_place(DUEL, last.start, last.end)
    shown = DUEL[start:end]
    assert "[They fight, and Orsino wounds him.]" in shown and shown.rstrip().endswith("[Dies.]")
    assert "Go, call the watch" not in shown                        # the next speaker's words are not the place
    start, end = death_place(DUEL, last.start, last.end, max_words=15)
    assert len(DUEL[start:end].split()) <= 15 and DUEL[start:end].startswith("Tebaldo.")   # whole lines before


def test_last_words_that_show_no_death_are_no_place_of_one():
    """Dying off stage ('To bed, to bed'; how, a report says elsewhere): the last words show nothing of it."""
    text = "Lady.\nTo bed, to bed, to bed.\n\n[Exit.]\n\nDoctor.\nWill she go now to bed?\n"
    start = text.index("To bed")
    assert death_place(text, start, start + len("To bed, to bed, to bed.")) is None
