"""A speaker's last (first) words in a play (app.speeches): the question, and where the play has them."""
from __future__ import annotations

import pytest

from app.speakers import speeches
from app.speeches import SpeechAsked, speech_asked, spoken_words

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


@pytest.mark.parametrize("question", ["What are his last words?", "What are the last words of the play?",
                                      "What does Romeo say about Juliet?", "Who speaks the last words?"])
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
