"""'What animal / which weapon / which bird ...?': the kind of thing asked for (app.kinds, WordNet) and answers."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from app.answer import Passage, extract_answer
from app.kinds import DATA, kind_asked
from app.kinds_build import build


@pytest.mark.parametrize("question, kind", [
    ("What animal chased the shepherd along the shore?", "animal"),
    ("Which weapon does the duke draw?", "weapon"),
    ("Which birds sing at the window?", "birds"),
    ("In which city does the second act take place?", "city"),
    ("What navigation instrument does the mate consult?", "instrument"),   # a modifier before the kind
    ("Which biblical prophet's story does the sermon tell?", "prophet"),
    ("What colour ribbon does she wear?", "colour"),
    ("Which ship?", "ship"),                                               # a follow-up's few words
    ("When the soldiers hear music, which god is leaving him?", "god"),   # after a clause setting the scene
])
def test_the_kind_a_question_asks_for(question, kind):
    asked = kind_asked(question)
    assert asked is not None and asked.word == kind


@pytest.mark.parametrize("question", [
    "Which function gives the levels of a factor?",        # not a kind of concrete thing
    "Which command places the plot in multiplot mode?",    # 'places' is the verb
    "Which environment variable sets the library path?",
    "What is the default prompt?",
    "What is the name of the mariner?",
    "Who sent the letter?",
    "What happens?",                                       # a short question naming no kind
    "What?",
])
def test_questions_that_ask_no_kind_of_thing(question):
    assert kind_asked(question) is None


@pytest.mark.parametrize("question, text, names", [
    ("What animal chased the shepherd?", "[Exit, pursued by a bear.]", True),
    ("What animal chased the shepherd?", "So long as nature will bear up with this exercise.", False),  # a verb
    ("What animal chased the shepherd?", "Sometimes her head on one side, some another.", False),  # not '200 head'
    ("What animal chased the shepherd?", "The dogs barked all night.", True),
    ("What animal is the bear?", "The bear came down to the shore.", False),     # the question's own word
    ("Which weapon does the duke draw?", "Is this a dagger which I see before me?", True),
    ("Which weapon does the duke draw?", "The duke drew his breath and sighed.", False),
    ("Which bird sang at dawn?", "It was the nightingale, and not the lark.", True),
    ("Which god is leaving Antony?", "'Tis the god Hercules, whom Antony lov'd, Now leaves him.", True),  # by name
    ("Which god is leaving Antony?", "Is it the god\nNow leaving him?", False),     # a verse line's capital
    ("Which god is leaving Antony?", "It is the god Antony loved.", False),         # the question's own name
])
def test_what_names_a_thing_of_the_kind(question, text, names):
    assert kind_asked(question).named_in(text, {w.lower() for w in question.rstrip("?").split()}) is names


def test_a_thing_of_the_kind_answers_the_question_though_the_kind_is_never_named():
    passages = [Passage(id="a", text="The shepherd walked along the cold shore at night. The shepherd heard the sea "
                                     "and was afraid of the shore.\n\nThe shepherd ran, and a bear came after him "
                                     "through the snow.")]
    answer = extract_answer("What animal chased the shepherd along the shore?", passages)
    assert answer is not None and "bear" in answer.text


@pytest.mark.skipif(shutil.which("apt-get") is None or shutil.which("dpkg") is None,
                    reason="apt-get and dpkg fetch Debian's wordnet-base")
def test_the_shipped_wordnet_data_is_rebuilt_byte_for_byte_from_debian_wordnet_base(tmp_path):
    download = subprocess.run(["apt-get", "download", "wordnet-base"], cwd=tmp_path, capture_output=True, text=True)
    if download.returncode != 0:
        pytest.skip(f"apt-get download wordnet-base failed: {download.stderr.strip().splitlines()[-1:]}")
    deb = next(tmp_path.glob("wordnet-base_*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(tmp_path / "x")], check=True)
    rebuilt = tmp_path / "wordnet_nouns.txt.gz"
    build(tmp_path / "x" / "usr" / "share" / "wordnet", rebuilt)
    assert rebuilt.read_bytes() == DATA.read_bytes()
