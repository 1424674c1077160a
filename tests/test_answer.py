"""Answer extraction on real-looking passages: picks the right sentence, abstains, cites, highlights."""
import pytest

from app.answer import Answer, AnswerConfig, Passage, asked_type_present, extract_answer, highlight, question_type
from app.text_utils import clean_pdf_text, list_lines, sentence_spans, split_follow_up_context

R_PAGE = """Chapter 1: Introduction and preliminaries 6
1.11 Data permanency and removing objects
The entities that R creates and manipulates are known as objects. These may be variables,
arrays of numbers, character strings, functions, or more general structures built from such
components.
To remove objects the function rm is available:
> rm(x, y, z, ink, junk, temp, foo, bar)
All objects created during an R session can be stored permanently in a file for use in
future R sessions. If you indicate that you want to do this, the objects are
written to a file called .RData in the current directory, and the command lines used in the
session are saved to a file called .Rhistory.
4. To quit the R program the command is
> q()
"""
GNUPLOT_PAGE = """gnuplot 5.4 195
Samples
The default sampling rate of functions, or for interpolating data, may be changed by the set samples
command. By default, sampling is set to 100 points. A higher sampling rate will produce more accurate
plots, but will take longer. This parameter has no effect on data file plotting unless one of the interpo-
lation/approximation options is used.
"""
PLAY = """PROSPERO.
Twelve year since, Miranda, twelve year since,
Thy father was the Duke of Milan, and
A prince of power.

MIRANDA.
Sir, are not you my father?
"""


def passages():
    return [
        Passage("g#1", GNUPLOT_PAGE, "gnuplot.pdf", 195, 195, "195", "Samples", 3.0),
        Passage("r#1", R_PAGE, "R-intro.pdf", 12, 12, "6", "1.11 Data permanency", 2.0),
        Passage("t#1", PLAY, "tempest.txt", None, None, None, None, 1.0),
    ]


def test_picks_sentence_with_the_number():
    answer = extract_answer("What is the default number of samples?", passages())
    assert isinstance(answer, Answer)
    assert "100 points" in answer.text
    assert len(answer.text.split()) <= 60
    assert answer.citations[0] == {"source": "gnuplot.pdf", "page": 195, "page_label": "195", "section": "Samples",
                                   "text": answer.text}


def test_answer_spans_point_into_the_passage():
    ps = passages()
    answer = extract_answer("Which file keeps the command lines of the session?", ps)
    assert ".Rhistory" in answer.text
    p_index, start, end = answer.sentences[0]
    assert ps[p_index].id == "r#1"
    assert clean_pdf_text(ps[p_index].text[start:end]) == answer.text


def test_unfinished_sentence_takes_the_code_line():
    answer = extract_answer("What command quits the R program?", passages())
    assert "q()" in answer.text


def test_hyphenation_is_repaired_in_the_answer():
    answer = extract_answer("Does the samples parameter affect interpolation options for data files?", passages())
    assert "interpolation/approximation" in answer.text


def test_abstains_on_absent_topic():
    assert extract_answer("How do I connect to a PostgreSQL database with SSL certificates?", passages()) is None
    assert extract_answer("the of and", passages()) is None
    assert extract_answer("anything", []) is None


def test_threshold_is_a_parameter():
    q = "How do I delete objects from a PostgreSQL table?"
    assert extract_answer(q, passages(), config=AnswerConfig(min_coverage=0.9)) is None
    assert extract_answer(q, passages(), config=AnswerConfig(min_coverage=0.0)) is not None


def test_a_number_asked_for_and_given_needs_less_of_the_question_covered():
    speech = ("GONERIL. This man hath had good counsel. 'Tis politic and safe to let him keep\n"
              "At point an hundred knights: yes, that on every dream he may enguard his dotage.\n\n"
              "ALBANY. Well, you may fear too far.\n")
    question = "How many knights may the old king keep?"   # 'old' and 'king' are not in the speech
    answer = extract_answer(question, [Passage("l#1", speech, "lear.txt")])
    assert answer is not None and "hundred knights" in answer.text
    assert extract_answer(question, [Passage("l#1", speech, "lear.txt")],
                          config=AnswerConfig(min_coverage_with_amount=0.5)) is None   # as any other question


def test_max_words_trims_to_the_densest_part():
    long = " ".join(["filler"] * 80) + " the secret ingredient is saffron " + " ".join(["filler"] * 80) + "."
    answer = extract_answer("What is the secret ingredient?", [Passage("x", long)], max_words=20)
    assert "saffron" in answer.text and len(answer.text.split()) <= 20


def test_uses_reranker_scores():
    class Fake:
        def score(self, query, texts):
            return [10.0 if "Miranda" in t else -10.0 for t in texts]

    answer = extract_answer("Who was Duke of Milan?", passages(), reranker=Fake())
    assert "Duke of Milan" in answer.text


def test_page_breaks_give_the_page_of_the_sentence():
    text = "First page sentence about apples.\n\nSecond page sentence about pears and plums."
    p = Passage("x", text, "f.pdf", 4, 5, "iv", page_breaks=[(text.index("Second"), 5, "v")])
    answer = extract_answer("What about pears and plums?", [p])
    assert (answer.citations[0]["page"], answer.citations[0]["page_label"]) == (5, "v")


def test_question_types():
    assert question_type("How many independent variables can fit handle?") == "number"
    assert question_type("How tall was the harpooneer?") == "number"
    assert question_type("Who originally prepared the manual?") == "who"
    assert question_type("When was it released?") == "when"
    assert question_type("Where is Macbeth's castle?") == "where"
    assert question_type("What is a factor?") == "definition"


@pytest.mark.parametrize("question, asked_type", [
    ("In Act 1, who murders Macduff's son?", "who"),
    ("When the soldiers hear music under the earth, which god do they say is leaving Antony?", "other"),
    ("Before the last battle, how many legions does Caesar bring?", "number"),
    ("I'm stuck on an old laptop. How much memory does R need?", "number"),  # the question after a statement
    ("When did Duncan die, and who killed him?", "when"),                # 'when' asks here, no scene is set
    ("Who is the landlord of the inn, where Ishmael spends his first nights?", "who"),
])
def test_a_clause_setting_the_scene_does_not_decide_the_type(question, asked_type):
    assert question_type(question) == asked_type


def test_sentence_spans_split_headings_and_code_lines():
    spans = [R_PAGE[s:e] for s, e in sentence_spans(R_PAGE)]
    assert "1.11 Data permanency and removing objects" in spans
    assert "> rm(x, y, z, ink, junk, temp, foo, bar)" in spans
    assert "To remove objects the function rm is available:" in spans
    assert all(s == s.strip() for s in spans)


def test_sentence_spans_end_code_and_output_lines_before_prose():
    text = ('The print() function shows a factor with its levels:\n> f\n[1] a b b c\n'
            'Levels: alpha beta gamma delta epsilon\nThe function nlevels() counts them.\n'
            'x <- c("a", "b", "c",\n"d", "e")\nNotice that the vector is sorted.\n'
            'Fair is foul, and foul is fair:\nHover through the fog and filthy air.')
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert "The function nlevels() counts them." in spans
    assert "Notice that the vector is sorted." in spans
    assert "Fair is foul, and foul is fair:\nHover through the fog and filthy air." in spans


def test_sentence_spans_keep_titles_and_initials_with_their_names():
    text = ('"My dear Mr. Bennet," said his lady. Col. Forster and Capt. Carter dined with Mrs. Phillips and '
            'Rev. Collins. Ms. Lucas saw Dr. Jones at St. Paul\'s. J. Smith left. He was gone.')
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        '"My dear Mr. Bennet," said his lady.',
        "Col. Forster and Capt. Carter dined with Mrs. Phillips and Rev. Collins.",
        "Ms. Lucas saw Dr. Jones at St. Paul's.", "J. Smith left.", "He was gone."]


def test_highlight_marks_and_escapes():
    text = "a < b and c > d"
    assert highlight(text, [(0, 5)]) == "<mark>a &lt; b</mark> and c &gt; d"
    assert highlight(text, [(10, 15), (0, 1), (12, 15)]) == "<mark>a</mark> &lt; b and <mark>c &gt; d</mark>"
    assert highlight(text, [(0, 1)], markup="markdown") == "<mark>a</mark> < b and c > d"
    assert highlight(text, []) == "a &lt; b and c &gt; d"


def test_window_match_prefers_question_terms_close_together():
    from app.answer import QuestionMatch, best_window_match

    match = QuestionMatch("Which function gives the levels of a factor?", lambda term: 1.0)
    filler = " ".join(["other words here"] * 20)
    close = f"{filler} To find out the levels of a factor the function levels() can be used. {filler}"
    apart = f"The function is described later. {filler} Levels are sorted. {filler} A factor is a vector."
    assert best_window_match(match, close) > best_window_match(match, apart)
    assert best_window_match(match, apart, section="Levels of a factor") > best_window_match(match, apart)


@pytest.mark.parametrize("question, text, opening, holds", [
    # the sentence after one that only restates the question holds what it announces
    ("Where are the available objects saved at the end of a session?",
     "At the end of each R session you are given the opportunity to save all the currently available objects. If "
     "you indicate that you want to do this, the objects are written to a file called .RData in the current "
     "directory.", "At the end", ".RData"),
    # a sentence opening with 'That is,' restates the one before it, which is kept
    ("What do I really get if I add c(1, 2, 3) to a six-element vector?",
     "3.3.1 Recycling rules\nIf one tries to add two structures with a different number of elements, then the "
     "shortest is recycled to length of longest. That is, if for instance you add c(1, 2, 3) to a six-element "
     "vector then you will really add c(1, 2, 3, 1, 2, 3).", "If one tries", "recycled"),
])
def test_answer_keeps_the_sentence_that_completes_it(question, text, opening, holds):
    answer = extract_answer(question, [Passage("x", text)])
    assert answer.text.startswith(opening) and holds in answer.text


def test_answer_starts_with_the_speaker_of_the_line():
    answer = extract_answer("Who asks when the three shall meet again in thunder?", [Passage("p", PLAY_OPENING)])
    assert answer.text.startswith("FIRST WITCH.")


def test_a_page_break_parts_a_sentence_from_the_short_line_before_it():
    text = "on the previous page, see also (p.\n206).\n\nsave fit saves only the variables used in the last fit command."
    passage = Passage("p", text, page_start=93, page_end=94, page_breaks=[(text.index("save fit"), 94, "94")])
    answer = extract_answer("Which variables does save fit save?", [passage])
    assert answer.text.startswith("save fit saves") and answer.citations[0]["page"] == 94


PLAY_OPENING = """ACT I. SCENE I. An open Place.

FIRST WITCH.
When shall we three meet again?
In thunder, lightning, or in rain?

SECOND WITCH.
When the hurlyburly's done,
When the battle's lost and won.
"""


CAST_LIST = """THE TEMPEST

by William Shakespeare

DRAMATIS PERSONAE

ALONSO, King of Naples
SEBASTIAN, his Brother
PROSPERO, the right Duke of Milan
ANTONIO, his Brother, the usurping Duke of Milan
FERDINAND, Son to the King of Naples
GONZALO, an honest old counsellor
"""
CONTENTS = """Table of Contents
2.1 Vectors and assignment ......................................... 8
2.2 Vector arithmetic ............................................... 9
2.5 Missing values ................................................. 11
"""
INDEX = """abs, 37
acos, 37
boxwidth, 65, 67, 136
colorspec, 28, 50, 68, 75, 79, 126, 163, 177, 181, 192,
202, 203, 210
"""


def test_reference_lists_are_recognised_line_by_line():
    for text in (CAST_LIST, CONTENTS, INDEX):
        entries = [text[s:e] for s, e in list_lines(text)]
        assert len(entries) >= 3, text
        assert not any("Shakespeare" in e or "Table of Contents" in e for e in entries)
    prose = R_PAGE + GNUPLOT_PAGE + PLAY
    assert list_lines(prose) == []


def test_a_cast_list_answers_only_with_the_one_entry_that_matches():
    ps = [Passage("t#0", CAST_LIST, "tempest.txt", 1, 1, None, None, 1.0)]
    answer = extract_answer("Who is the usurping Duke of Milan?", ps)
    assert answer.text == "ANTONIO, his Brother, the usurping Duke of Milan"
    # Entries next to each other do not add up to an answer ('his Brother' + 'Duke of Milan' + ...).
    assert extract_answer("What is the name of Prospero's brother?", ps) is None


def test_contents_and_index_lines_are_not_answers():
    ps = [Passage("r#0", CONTENTS + INDEX, "R-intro.pdf", 2, 2, None, None, 2.0)] + passages()
    answer = extract_answer("What are missing values in vector arithmetic?", ps)
    assert answer is None or "...." not in answer.text


SCOPE_PAGE = """10.7 Scope
Consider the following function definition. The variable n in the function sq is not an argument to that
function. Therefore it is a free variable and the scoping rules must be used to ascertain the value that is to
be associated with it. In R the free variable bindings are resolved by first looking in the environment in
which the function was created. This is called lexical scope.
"""


def test_a_what_is_it_called_question_gets_the_sentence_that_names_it():
    question = "What is the scoping rule R uses to resolve free variables called?"
    assert question_type(question) == "naming"
    answer = extract_answer(question, [Passage("r#56", SCOPE_PAGE, "R-intro.pdf", 56, 56, None, "Scope", 1.0)],
                            config=AnswerConfig(context_words=1))  # the chosen sentences alone, no context
    assert "lexical scope" in answer.text


def test_a_named_after_question_gets_the_sentence_that_gives_the_name_of_something():
    question = "What was the ship named after?"
    assert question_type(question) == "naming"
    text = ("The ship sailed at dawn and the ship's crew cheered. The ship was old. The ship, you will remember, bore "
            "the name of a tribe of Massachusetts Indians. The ship carried thirty men.")
    answer = extract_answer(question, [Passage("n#1", text, "novel.txt", None, None, None, None, 1.0)],
                            config=AnswerConfig(context_words=1))
    assert "tribe of Massachusetts Indians" in answer.text


CALIBAN_SCENE = """[Enter CALIBAN]

CALIBAN.
As wicked dew as e'er my mother brush'd
With raven's feather from unwholesome fen
Drop on you both! A south-west blow on ye,
And blister you all o'er!

PROSPERO.
For this, be sure, to-night thou shalt have cramps,
Side-stitches that shall pen thy breath up.

CALIBAN.
I must eat my dinner.
This island's mine, by Sycorax my mother,
Which thou tak'st from me. When thou cam'st first,
Thou strok'st me and made much of me.
"""


def test_the_speaker_of_a_line_counts_for_the_question_it_answers():
    answer = extract_answer("Who was Caliban's mother?",
                            [Passage("t#7", CALIBAN_SCENE, "tempest.txt", 7, 8, None, None, 1.0)])
    # 'Caliban' is not in the line that answers, only in the name of its speaker two lines up.
    assert "Sycorax" in answer.text


def test_joining_a_sentence_that_refers_back_costs_nothing():
    from app.answer import _window_cost

    resolved = ("In R the free variable bindings are resolved by first looking in the environment in which the "
                "function was created.")
    # 'This is called lexical scope.' says what 'this' is only with the sentence before it: one answer, no join to pay.
    assert _window_cost([resolved, "This is called lexical scope."], 0.12) == 0.0
    assert _window_cost(["Therefore it is a free variable.", resolved], 0.12) == 0.12
    assert _window_cost(["To quit the R program the command is", "> q()"], 0.12) == 0.0
    assert _window_cost(["To quit the R program the command is"], 0.12) == 0.06


NOVEL = """"And what dost thou want of Captain Ahab? It's all right enough; thou art shipped." "Yes, but I should like to
see him." Besides, my boy, he has a wife--not three voyages wedded--a sweet, resigned girl. Think of that; by that
sweet girl that old man has a child. Queequeg now gave me to understand, that he had been diligently consulting
Yojo--the name of his black little god. Now, the Pequod had sailed from Nantucket at the very beginning of the
Season-on-the-Line. His one yet missing boy was a little lad, but twelve years old.
"""


def test_a_question_asking_for_a_name_a_number_or_a_year_needs_one_the_question_lacks():
    assert not asked_type_present("What was the name of Captain Ahab's wife?", NOVEL.splitlines()[0])
    assert asked_type_present("What is the name of Queequeg's little black god?", "consulting Yojo--the name of his god")
    # the thing named is 'captain' (a relative clause follows it), so a name beside 'captain' answers
    captain = "What was the name of the captain who refused to come aboard because of the fever?"
    assert asked_type_present(captain, "the brig had the fever on board, and Tobias, her captain, feared for us")
    assert not asked_type_present(captain, "the brig had the fever on board, and her captain feared for us")
    assert not asked_type_present("In what year did the Pequod sail?", "the Pequod had sailed from Nantucket")
    assert asked_type_present("How old was the missing boy?", "a little lad, but twelve years old")
    assert asked_type_present("Why did the Pequod sail?", "no name, number or year here")
    question = "What is the default number of samples gnuplot uses?"
    assert question_type(question) == "number"
    assert not asked_type_present(question, "The number of samples is controlled via set samples.")
    assert asked_type_present(question, "By default, sampling is set to 100 points.")


def test_an_age_a_height_a_weight_or_a_price_is_answered_only_by_an_amount_of_it():
    willow = "My mother had a maid call'd Barbara; she had a song of willow; An old thing 'twas, one of the old songs"
    assert not asked_type_present("How old is Desdemona?", willow)      # 'one' is a number, not an age
    assert asked_type_present("How old is Desdemona?", "she is not yet fourteen years old")
    assert not asked_type_present("How heavy was the log Ferdinand carried?", "I'll bear your logs, two or three")
    assert asked_type_present("How much does Romeo pay for the poison?", "there is forty ducats: let me have A dram")
    # a width, a length: answered in words too
    assert asked_type_present("How wide are boxes by default?", "adjacent boxes are extended until they touch")


def test_how_many_is_answered_by_a_number_of_the_things_counted():
    eagles = "Two mighty eagles fell; and there they perch'd, Gorging and feeding from our soldiers' hands"
    assert not asked_type_present("How many soldiers did Brutus and Cassius lead into the battle?", eagles)
    assert asked_type_present("How many soldiers did Brutus lead?", "he led ten thousand soldiers")
    assert asked_type_present("How many states and territories are there in Australia?",
                              "there are eight states and territories in Australia")
    assert asked_type_present("How many independent variables can fit handle?", "up to 12 independent variables")


def test_a_name_must_stand_near_the_thing_whose_name_is_asked_for():
    tempest = ("MIRANDA. Sir, are not you my father? PROSPERO. Thy mother was a piece of virtue, and She said thou "
               "wast my daughter: and thy father Was Duke of Milan, and his only heir")
    assert not asked_type_present("What is the name of Miranda's mother?", tempest)
    assert asked_type_present("What was the name of the chaplain of the Whaleman's Chapel?",
                              "this fine old man was the chaplain. Yes, it was the famous Father Mapple, so called")
    assert asked_type_present("What name does the narrator ask to be called?", "Call me Ishmael. Some years ago")
    assert not asked_type_present("What is the name of Ahab's ship?", "Captain Ahab is the Captain of this ship.")
    assert asked_type_present("What is the name of Ahab's ship?", "Captain Peleg owns this ship.")  # a title's name


@pytest.mark.parametrize("question, text, names", [
    ("What is Ishmael's last name?", "But go on, Ishmael, said I at last; don't you hear?", False),
    ("What is Ishmael's last name?", "Now then, Ishmael's thy name, didn't ye say? Well then, Bildad, down ye go.",
     False),                                                                   # a first or last name stands beside
    ("What is Mr. Darcy's first name?", "It was Fitzwilliam Darcy who came in.", True),
    ("What was the Old Shepherd's real name?", "The old shepherd, whom the village called Dorcas, wept.", True),
    ("What is the narrator's name?", "Call me Ishmael.", True),                 # names no one: any name answers
])
def test_the_name_of_a_person_the_question_names_stands_near_them(question, text, names):
    assert asked_type_present(question, text) is names


def test_a_capitalised_word_the_document_also_writes_in_lower_case_is_no_name():
    direction = "[Enter ANTIGONUS with the Child, and a Mariner.] Thou art perfect, then?"
    question = "What is the name of the mariner who sails Antigonus to Bohemia?"
    assert asked_type_present(question, direction)                             # without the document's words
    assert not asked_type_present(question, direction, lower_case=frozenset({"enter", "child", "mariner"}))


@pytest.mark.parametrize("question, text, names", [
    ("What is the name of the function that gives the levels of a factor?",
     "To find out the levels of a factor the function levels() can be used.", True),
    ("What is the name of the function that pauses R?", "Call Sys.sleep to suspend the function a while.", True),
    ("What is the name of the command that makes gnuplot wait?", "The pause command waits for a keystroke.", True),
    ("What is the name of the option that writes images?", "Use --png to write it; the option is new.", True),
    ("What is the name of the function that pauses R?", "The function waits, e.g. for input.", False),
    ("What is the name of the command that makes gnuplot wait?",       # an option names no command
     "-s tells the program to wait; the command line takes it.", False),
    ("What is the name of the flag that makes gnuplot wait?",
     "-s tells the program to wait; the flag is old.", True),
])
def test_code_names_what_a_manual_asks_the_name_of(question, text, names):
    assert asked_type_present(question, text) is names



def test_a_name_opening_a_speech_counts_when_the_document_never_writes_it_in_lower_case():
    """In a play every speech opens a sentence: 'Feste' after CURIO's label is a name, because the play never
    writes "feste" in lower case; 'Good' is not, and neither is a label ('Romeo.')."""
    from app.text_utils import lower_case_words
    speech = "CURIO.\nFeste, the jester, my lord; a fool that the Lady Olivia's father took much delight in."
    question = "What is the name of Olivia's jester?"
    assert not asked_type_present(question, speech)                  # without the document's words: not a name
    play = lower_case_words(speech + " a good fool, my lord; and good night, sweet jester; tell me.")
    assert asked_type_present(question, speech, play)
    assert not asked_type_present(question, "CURIO.\nGood, the jester, my lord; a fool that he loved.", play)
    assert not asked_type_present(question, "a fool, the jester. Romeo. Tell me, my lord.", play)


def test_a_reply_keeps_the_short_question_it_answers():
    """Mercutio's reply names no one; the question before it, Benvolio's, names whom he calls the prince of cats."""
    scene = ("and is he a man to encounter Tybalt?\n\nBenvolio.\nWhy, what is Tybalt?\n\nMercutio.\nMore than "
             "prince of cats, I can tell you. O, he's the\ncourageous captain of compliments.")
    answer = extract_answer("Whom does Mercutio call the prince of cats?", [Passage("r#1", scene, "romeo.txt")])
    assert answer is not None and answer.text.startswith("Benvolio. Why, what is Tybalt? Mercutio. More than prince")
    statement = scene.replace("Why, what is Tybalt?", "Tybalt is a fine fencer.")
    answer = extract_answer("Whom does Mercutio call the prince of cats?", [Passage("r#1", statement, "romeo.txt")])
    assert answer is not None and answer.text.startswith("Mercutio. More than prince")


def test_a_name_after_a_title_abbreviation_is_a_name():
    """'Mr.' ends no sentence: Darcy and Bennet are names; a capital after a real full stop is not."""
    from app.answer import names_in
    assert names_in("It was Mr. Darcy who danced with Miss Bingley, and Mrs. Bennet saw it.") == \
        ["Darcy", "Bingley", "Bennet"]
    assert names_in("I saw it. Then he came. Peter came.") == []

def test_a_sentence_without_what_was_asked_for_is_not_the_answer():
    novel = [Passage("n#1", NOVEL, "moby_dick.txt", 3, 3, None, "CHAPTER 16. The Ship.", 1.0)]
    assert extract_answer("What was the name of Captain Ahab's wife?", novel) is None
    assert extract_answer("In what year did the Pequod sail from Nantucket?", novel) is None
    assert "twelve years old" in extract_answer("How old was the missing boy?", novel).text


def test_a_follow_ups_recalled_words_say_what_it_is_about_not_what_it_asks():
    """'Where was she banished from? (Caliban's mother Sycorax)': the earlier turn's words count half, so the
    sentence on the banishment wins over the one that only repeats the earlier answer."""
    text = "This island's mine, by Sycorax my mother. From Argier, thou knowest, Sycorax was banished."
    passages = [Passage("t#1", text, "tempest.txt", None, None, None, None, 1.0)]
    answer = extract_answer("Where was she banished from? (Caliban's mother Sycorax)", passages,
                            idf=lambda term: 1.0 if len(term) > 1 else 0.05,  # the possessive 's': common
                            config=AnswerConfig(max_window=1, context_words=1))
    assert "Argier" in answer.text
    assert split_follow_up_context("Where was she banished from? (Caliban's mother)") == (
        "Where was she banished from?", "Caliban's mother")
    assert split_follow_up_context("What does rand(-1) do?") == ("What does rand(-1) do?", "")


SPEECHES = """MACBETH.
Go bid thy mistress, when my drink is ready,
She strike upon the bell. Get thee to bed.

[Exit Servant.]

Is this a dagger which I see before me,
The handle toward my hand? Come, let me clutch thee.

[Exeunt.]

The bell invites me. Hear it not, Duncan, for it is a knell.

SCENE II. The same.

MIRANDA.
O, wonder!
How many goodly creatures are there here!
How beauteous mankind is! O brave new world
That has such people in't!
"""


def test_a_line_of_a_play_is_answered_with_its_speakers_name():
    """The speaker's name leads the answer, also when the line is deep in the speech or the speech goes on past a
    stage direction ('[Exit Servant.]'); '[Exeunt.]' ends it."""
    passages = [Passage("p#1", SPEECHES, "play.txt", None, None, None, None, 1.0)]
    config = AnswerConfig(max_window=1, context_words=1)
    dagger = extract_answer("Who says 'Is this a dagger which I see before me'?", passages, config=config)
    assert dagger.text.startswith("MACBETH. Is this a dagger")
    world = extract_answer("Who says 'O brave new world'?", passages, config=config)
    assert world.text.startswith("MIRANDA. O brave new world")          # three sentences into her speech
    knell = extract_answer("Which bell is a knell for Duncan?", passages, config=config)
    assert "knell" in knell.text and not knell.text.startswith("MACBETH")   # after '[Exeunt.]', no one's line
    s, e = world.sentences[0][1:]
    assert SPEECHES[s:e].startswith("O brave new world")                 # the highlight is the line itself


def test_a_manuals_label_does_not_lead_the_answer():
    text = "Example:\nset samples 100\n\nThe samples command sets the number of points sampled for a function."
    answer = extract_answer("What does the samples command set?",
                            [Passage("g#1", text, "gnuplot.pdf", 1, 1, "1", None, 1.0)],
                            config=AnswerConfig(max_window=1, context_words=1))
    assert answer.text.startswith("The samples command")


QUEEN_MAB = """Mercutio.
O, then, I see Queen Mab hath been with you.
She is the fairies' midwife; and she comes
In shape no bigger than an agate-stone
On the fore-finger of an alderman,
Drawn with a team of little atomies
Athwart men's noses as they lie asleep:
Her waggon-spokes made of long spinners' legs;
The cover, of the wings of grasshoppers;
The traces, of the smallest spider's web;
The collars, of the moonshine's watery beams;
Her whip, of cricket's bone; the lash, of film;
Her waggoner, a small grey-coated gnat,
Not half so big as a round little worm
Prick'd from the lazy finger of a maid:
And in this state she gallops night by night.
"""


def test_an_answer_opening_with_a_pronoun_keeps_the_sentence_naming_her():
    answer = extract_answer("Who is Mercutio's fairies' midwife?",
                            [Passage("r#3", QUEEN_MAB, "romeo_and_juliet.txt", 3, 3, None, None, 1.0)])
    # The line that matches says 'She is the fairies' midwife'; the one before it names her. The answer is
    # trimmed to 60 words from there, not from the middle of the long sentence ("men's", "spider's": the
    # question's possessive is no term).
    assert "Queen Mab" in answer.text
    assert len(answer.text.split()) <= 60


def test_an_answer_opening_with_a_pronoun_and_any_verb_keeps_the_sentence_it_refers_to():
    text = ("Bug reports\n\nStarting the program with the --clean option helps to isolate a bug. This ensures that "
            "no start-up file and no saved workspace is read. Then try the smallest example that shows the bug.")
    answer = extract_answer("How can I start it so that no start-up file and no saved workspace is read?",
                            [Passage("m#9", text, "manual.pdf", 9, 9, "9", None, 1.0)])
    assert answer.text.startswith("Starting the program with the --clean option")


def test_an_answer_does_not_run_on_into_the_next_section():
    text = ("The keeper cleans the lens each morning. The tower is 42 metres tall.\n\nChapter 2. Storms\n\n"
            "During a storm the keeper sounds the foghorn every thirty seconds.")
    passage = Passage("k#1", text, "keeper.txt", 1, 1, "1", "Chapter 1. Duties", 1.0,
                      section_breaks=[(text.index("Chapter 2"), "Chapter 2. Storms")])
    assert extract_answer("How tall is the tower?", [passage]).text == "The tower is 42 metres tall."


def test_an_answer_ending_a_section_leaves_the_heading_above_the_next_one():
    text = ("SCENE: A City in Illyria; and the Sea-coast near it.\nACT I.\nSCENE I. An Apartment in the DUKE'S "
            "Palace.\n[Enter DUKE, CURIO, Lords; Musicians attending.]\nDUKE.\nIf music be the food of love, play on.")
    passage = Passage("t#0", text, "twelfth_night.txt", None, None, None, None, 1.0,
                      section_breaks=[(text.index("SCENE I."), "ACT I, SCENE I")])
    assert extract_answer("Where is the play set?", [passage]).text == \
        "SCENE: A City in Illyria; and the Sea-coast near it."


def test_an_answer_cut_to_length_keeps_the_opening_of_its_sentence():
    from app.answer import _opening_before

    raw = "Intro line\nIf one tries to add two structures, the shortest is recycled."
    tokens = [(m.start(), m.end(), set()) for m in __import__("re").finditer(r"\S+", raw)]
    assert _opening_before(raw, tokens, 3) == 2        # 'one' -> 'If', the first word of its line
    assert _opening_before(raw, tokens, 8) == 8        # 'shortest': its sentence opens more than three words back
    assert _opening_before(raw, tokens, 1) == 0
