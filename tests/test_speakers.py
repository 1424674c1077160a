"""Who is speaking where a chunk or passage of a play begins (app.speakers), and answers led by that speaker."""
from app.answer import Passage, extract_answer
from app.speakers import MIN_LABELS, speaker_after, speakers_at, speakers_at_chunk_starts, speaking_at


def play(speeches: int) -> str:
    """A play-like text: ACT/SCENE headings, a stage direction and `speeches` speeches under Title-case labels."""
    parts = ["ACT I. SCENE I. Verona. A public place.", "[Enter Sampson and Gregory.]"]
    for n in range(speeches):
        speaker = ("Sampson", "Gregory", "Lady Capulet")[n % 3]
        parts.append(f"{speaker}.\nLine {n} of a speech,\nand its second line.")
    return "\n\n".join(parts) + "\n\n[Exeunt.]\n\nSCENE II. A Street.\n\nSampson.\nA last line."


def test_speaker_in_force_follows_labels_and_ends_with_exeunt():
    text = play(MIN_LABELS + 1)
    inside = text.index("Line 2 of") + 3
    after_exeunt = text.index("SCENE II")
    assert speakers_at(text, [0, inside, after_exeunt, len(text)]) == ["", "Lady Capulet", "", "Sampson"]


def test_a_text_with_few_labels_is_no_play():
    assert speakers_at(play(MIN_LABELS - 5), [0, 100]) == [None, None]
    assert speakers_at("Note.\nSee the manual.\n\nExamples.\nplot sin(x)\n" * 30, [10]) == [None]


def test_chunks_read_in_document_order_whatever_their_row_order(chunk_table):
    text = play(MIN_LABELS + 3)
    cut = text.index("Line 4 of") + 5
    table = chunk_table({"d": [text[:cut], text[cut:]], "m": ["A manual. Nobody speaks."]})   # rows: d1, d0, m0
    table.note_speakers()
    speakers = [meta.get("speaker") for meta in table.metadatas]
    assert speakers == ["Gregory", "", None]
    assert speakers_at_chunk_starts([text[:cut], text[cut:]]) == ["", "Gregory"]
    assert speaker_after(text[:cut], cut, "") == "Gregory"


def test_a_line_deep_in_a_speech_is_answered_with_its_speaker():
    # The passage starts in the middle of Romeo's speech: its label is in the chunk before.
    text = ("Here's to my love! [Drinks.]--O true apothecary!\nThy drugs are quick.--Thus with a kiss I die.\n[Dies.]"
            "\n\n[Enter Friar Lawrence.]\n\nFriar.\nSaint Francis be my speed!")
    passage = Passage("r#142", text, "romeo_and_juliet.txt", 1, 1, None, None, 1.0, speaker="Romeo")
    answer = extract_answer("Who says 'Thus with a kiss I die'?", [passage])
    assert answer.text.startswith("Romeo. ")
    assert "Thus with a kiss I die" in answer.text


def test_the_words_a_question_quotes():
    from app.text_utils import quoted_words
    assert quoted_words("Who says 'A plague o' both your houses'?") == "a plague o both your houses"
    assert quoted_words('Who says "What\'s in a name?"') == "whats in a name"
    assert quoted_words("Who says ‘To be, or not to be’?") == "to be or not to be"
    assert quoted_words("Who was Caliban's mother?") is None          # an apostrophe is no quote
    assert quoted_words("What does 'ls' do?") is None                  # one word is no line


def test_a_quoted_line_of_stopwords_is_found_and_answered_with_its_speaker():
    text = ("Juliet.\n'Tis but thy name that is my enemy;--\nThou art thyself, though not a Montague.\n"
            "What's in a name? that which we call a rose\nBy any other name would smell as sweet;")
    passage = Passage("r#50", text, "romeo_and_juliet.txt", 1, 1, None, None, 1.0, speaker="")
    answer = extract_answer("Who says 'What's in a name?'", [passage])   # every word a stopword or filler
    assert answer.text.startswith("Juliet. ") and "What's in a name?" in answer.text


def test_chunks_quoting_a_line_even_across_the_cut(chunk_table):
    table = chunk_table({"play": ["Mercutio.\nI am hurt;--\nA plague o' both", " your houses!--I am sped."],
                         "other": ["A plague on all their houses, said nobody."]})
    rows = table.rows_quoting("a plague o both your houses")
    assert [table.metadatas[r]["chunk_index"] for r in rows] == [0]
    assert table.metadatas[rows[0]]["doc_id"] == "play"
    assert table.rows_quoting("a plague o both your houses", ["other"]) == []


def test_shortened_labels_are_spelled_out_from_the_cast_list():
    from app.speakers import full_names
    cast = "PERSONS REPRESENTED\n\nDuke of Cornwall.\nEdmund, Bastard Son to Gloster.\nCordelia, daughter to Lear.\n\n"
    speeches = "\n\n".join(f"{label}.\nA line of {label}." for label in ("Corn", "Cor", "Edm", "Kent") * 6)
    names = full_names(cast + "ACT I.\n\n[Enter Kent and Edmund.]\n\n" + speeches)
    # 'Corn' is read first and takes Cornwall, so 'Cor' is Cordelia; 'Kent' is a name already.
    assert names == {"Corn": "Cornwall", "Cor": "Cordelia", "Edm": "Edmund"}


def test_a_shortened_label_answers_with_the_full_name():
    text = "Lear.\nWhat can you say to draw\nA third more opulent than your sisters? Speak.\n\nCor.\nNothing, my lord."
    passage = Passage("l#7", text, "king_lear.txt", 1, 1, None, None, 1.0, speaker="",
                      speaker_names={"Cor": "Cordelia"})
    answer = extract_answer("Who says 'Nothing, my lord'?", [passage])
    assert answer.text == "Cordelia. Nothing, my lord."


def test_who_speaks_words_from_a_place_unless_a_label_or_stage_direction_opens_them():
    text = play(MIN_LABELS + 1)
    inside = text.index("and its second line.")                  # Sampson's speech (n = 0) goes on here
    assert speaking_at(text, inside, "") == "Sampson"
    assert speaking_at(text, text.index("Gregory.\nLine 1"), "") == ""            # its own label leads it
    assert speaking_at(text, text.index("[Enter Sampson"), "") == ""              # a stage direction leads it
