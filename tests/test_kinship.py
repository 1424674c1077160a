"""'Who was Caliban's mother?': the question, and the texts that tie a relative to the person (app.kinship)."""
from __future__ import annotations

import pytest

from app.answer import Passage, extract_answer
from app.kinship import kin_asked, other_than, parent_named, siblings_as_children, ties


@pytest.mark.parametrize("question, asked", [
    ("Who was Caliban's mother?", ("Caliban", "mother")),
    ("What is the name of Lear's wife?", ("Lear", "wife")),
    ("What was the name of Captain Ahab's wife?", ("Captain Ahab", "wife")),
    ("Who are Olivia's uncles?", ("Olivia", "uncle")),
    ("Whom do Juliet's parents want her to marry?", None),
    ("Who does Antony marry while he is away from Cleopatra?", ("Antony", "spouse")),
    ("Whom did Sir Toby wed?", ("Sir Toby", "spouse")),
    ("Who is Regan married to?", ("Regan", "spouse")),
    ("To whom is Benvolio engaged?", ("Benvolio", "spouse")),
    ("Who marries Cordelia after Lear disowns her?", ("Cordelia", "spouse")),
    ("Who does the Duke marry?", ("Duke", "spouse")),
    ("Who is Juliet's spouse?", ("Juliet", "spouse")),
    ("Who marries Romeo and Juliet?", None),                 # who weds them, not whom they wed
    ("Who was the chief mate's wife?", None),
    ("In Act 1, who murders Macduff's son?", None),
])
def test_a_question_asking_who_a_persons_relative_is(question, asked):
    assert kin_asked(question) == asked


@pytest.mark.parametrize("person, kin, text", [
    ("Caliban", "mother", "Caliban's mother was a witch."),
    ("Olivia", "uncle", "SIR TOBY BELCH, Uncle of Olivia."),
    ("Hamlet", "mother", "GERTRUDE, Queen of Denmark, mother to Hamlet."),
    ("Fleance", "father", "FLEANCE, Son to Banquo."),                      # the cast line read the other way
    ("Perdita", "mother", "PERDITA, daughter to Leontes and Hermione"),
    ("Caliban", "mother", "CALIBAN.\nThis island's mine, by Sycorax my mother,"),   # his own words
    ("Caliban", "mother", "Cal. This island's mine, by Sycorax my mother,"),       # a shortened label
    ("Elizabeth", "sister", "Elizabeth walked on with her sister Jane."),
    ("Elizabeth", "sister", "Elizabeth walked on with her eldest sister Jane."),
    ("Macduff", "wife", "[Enter Lady Macduff, her Son, and Ross.]"),           # a wife by her husband's name
    ("Mr. Bennet", "wife", "Mrs. Bennet was restored to her usual querulous serenity."),
    ("Regan", "spouse", "REGAN, wife to Cornwall."),
    ("Antony", "spouse", "Madam, Antony is married to Octavia."),
    ("Octavia", "spouse", "Madam, he is married to Octavia."),
    ("Toby", "spouse", "In recompense whereof Toby hath married her."),
    ("Claribel", "spouse", "at the marriage of the king's fair daughter Claribel to the King of Tunis."),
    ("Juliet", "husband", "Romeo, there dead, was husband to that Juliet;"),
    ("Antony", "wife", "Antony is married to Octavia."),
])
def test_texts_that_tie_the_relative_to_the_person(person, kin, text):
    assert ties(person, kin, text)


@pytest.mark.parametrize("person, kin, text", [
    ("Ahab", "wife", "Ahab held the letter. 'A woman's hand,--the man's wife, I'll wager.'"),
    ("Lear", "wife", "EDMUND.\nHe hath commission from thy wife and me"),
    ("Romeo", "sister", "ROMEO.\n[Reads.] 'County Anselmo and his beauteous sisters;'"),
    ("Caliban", "mother", "PROSPERO.\nThou, my slave, didst serve my mother once."),   # someone else's 'my'
    ("Octavia", "brother", "OCTAVIA.\nMy noble brother!--"),                           # who, it does not say
    ("Romeo", "father", "ROMEO.\nWith Rosaline, my ghostly father? no;"),               # a friar
    ("Romeo", "father", "Romeo. Is my father well?"),                                  # no name beside it
    ("Miranda", "mother", "MIRANDA, Daughter to Prospero"),                           # her father
    ("Ferdinand", "father", "FERDINAND.\nI chose her when I could not ask my father\nFor his advice"),  # verse
    ("Banquo", "wife", "BANQUO.\nGood sir, why do you start? [To Lady Macbeth.]"),   # another man's lady
    ("Macduff", "daughter", "[Enter Lady Macduff, her Son, and Ross.]"),        # the title names a wife only
    ("Juliet", "spouse", "Tell me, daughter Juliet, How stands your disposition to be married?"),
    ("Juliet", "spouse", "He told me Paris should have married Juliet"),         # a match that was not made
    ("Mercutio", "spouse", "Mercutio. Marry, farewell!"),                             # the oath
])
def test_texts_holding_only_the_word_do_not(person, kin, text):
    assert not ties(person, kin, text)


def test_without_a_text_tying_them_the_answer_is_that_the_book_does_not_say():
    passages = [Passage(id="a", text="LEAR.\nGive me the map there. Know that we have divided in three our "
                                      "kingdom.\n\nEDMUND.\nHe hath commission from thy wife and me to hang her.")]
    assert extract_answer("What is the name of Lear's wife?", passages) is None
    passages.append(Passage(id="b", text="GONERIL, eldest daughter to Lear, and wife to the Duke of Albany."))
    answer = extract_answer("Who is Goneril's husband?", passages)
    assert answer is not None and "Albany" in answer.text


CAST = ("Earl of Kent.\nEarl of Gloster.\nEdgar, Son to Gloster.\nEdmund, Bastard Son to Gloster.\n"
        "Goneril, daughter to Lear.\nRegan, daughter to Lear.\nCordelia, daughter to Lear.\n")


def test_a_sibling_is_asked_as_another_child_of_the_parent_the_cast_list_names():
    """A cast list names each child's parent, never a sibling: 'Who is Edgar's brother?' is 'Who is Gloster's son
    other than Edgar?'."""
    def parent_of(person):
        return parent_named(person, CAST)
    assert siblings_as_children("Who is Edgar's brother?", parent_of) == "Who is Gloster's son other than Edgar?"
    assert siblings_as_children("Who are Cordelia's sisters?", parent_of) == \
        "Who is Lear's daughter other than Cordelia?"
    assert siblings_as_children("Who is Kent's brother?", parent_of) is None          # no parent named
    assert siblings_as_children("Who is Edgar's father?", parent_of) is None          # not a sibling
    assert other_than("Who is Lear's daughter other than Cordelia?") == "Cordelia"
    assert kin_asked("Who is Lear's daughter other than Cordelia?") == ("Lear", "daughter")


def test_only_another_childs_cast_entry_ties_a_sibling():
    assert ties("Gloster", "son", CAST, other="Edgar")
    assert not ties("Gloster", "son", "Earl of Kent.\nEdgar, Son to Gloster.\n", other="Edgar")   # only himself
    assert not ties("Lear", "daughter", "Cordelia, daughter to Lear. Regan, daughter to Lear.", other="Cordelia")
    assert not ties("Capulet", "son", "Capulet.\nAcquaint her here of my son Paris' love;", other="Juliet")


def test_a_siblings_answer_names_another_child():
    passages = [Passage(id="a", text=CAST)]
    answer = extract_answer("Who is Gloster's son other than Edgar?", passages)
    assert answer is not None and "Edmund" in answer.text
