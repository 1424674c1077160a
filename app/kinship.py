"""'Who was Caliban's mother?', 'What is the name of Lear's wife?': a question asking who a named person's
relative is, answered only where the text ties the two together.

A book ties a relative to a person in a few ways: 'Caliban's mother', 'Uncle of Olivia', 'FLEANCE, Son to Banquo'
(a cast list: Fleance's father, Banquo's son), 'by Sycorax my mother' in Caliban's own speech, 'Elizabeth ... her
sister Jane' in one sentence, 'LADY MACDUFF' (a wife by her husband's name). A passage that only holds the word
('the man's wife', 'thy wife', 'his beauteous sisters') says nothing of this person's relative, and when no passage
ties them the book does not say: Lear's wife is never named. A sibling is asked as another child of the parent
a cast list names ('Who is Edgar's brother?' -> 'Who is Gloster's son other than Edgar?': siblings_as_children).
'Who does Antony marry?' asks for his spouse, tied to him also by a marriage stated of him ('Antony is married to
Octavia', 'married to Antony'); as plays show a marriage more than they state it, a spouse is looked for in
those places first, not only there.
"""
from __future__ import annotations

import re
from typing import Callable

from app import speakers

_KIN = ("mother father wife husband spouse sister brother son daughter uncle aunt cousin nephew niece grandfather "
        "grandmother grandson granddaughter stepmother stepfather stepson stepdaughter").split()
_SPOUSES = ("wife", "husband", "spouse")
_INVERSE = {"mother": "son daughter child", "father": "son daughter child", "wife": "husband",
            "husband": "wife", "spouse": "wife husband", "sister": "sister brother", "brother": "sister brother",
            "son": "father mother", "daughter": "father mother", "uncle": "nephew niece", "aunt": "nephew niece",
            "cousin": "cousin", "nephew": "uncle aunt", "niece": "uncle aunt", "grandfather": "grandson granddaughter",
            "grandmother": "grandson granddaughter", "grandson": "grandfather grandmother",
            "granddaughter": "grandfather grandmother"}
# 'MIRANDA, Daughter to Prospero' names her father; her mother only where the parents named hold a woman ('PERDITA,
# daughter to Leontes and Hermione', 'daughter to Lady Capulet')
_MOTHER_NAMED = re.compile(r"\b(?:Lady|Queen|Duchess|Countess|Princess|Mrs|Miss|Madam)\b|\sand\s")
_NAME_WORD = r"[A-Z][\w'’-]*\.?"
_ASKS = re.compile(rf"^\s*(?i:(?:what|which)\s+(?:is|was|are|were)\s+the\s+names?\s+of|who\s+(?:is|was|are|were))"
                   rf"\s+(?P<person>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})['’]s?"
                   rf"\s+(?P<kin>(?i:{'|'.join(_KIN)}))s?"
                   rf"(?:\s+other\s+than\s+(?P<other>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}}))?\s*\?*\s*$")
_PERSON = rf"(?:(?i:the)\s+)?(?P<person>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})(?![\w'’-])"   # 'the Duke'
# 'Who does Antony marry?', 'Whom did Toby wed?', 'Who is Regan married to?', 'Who marries Cordelia?' (not 'Who
# marries Romeo and Juliet?': that asks who weds them): who the person's spouse is
_ASKS_SPOUSE = [
    re.compile(rf"^\s*(?i:whom?)\s+(?i:does|did|do|will|would|is|was)\s+{_PERSON}\s+(?i:(?:going\s+to\s+|want\s+to\s+|"
               rf"agree\s+to\s+|finally\s+)?(?:marry|wed)|married\s+to|engaged\s+to)\b"),
    re.compile(rf"^\s*(?i:to\s+whom)\s+(?i:is|was)\s+{_PERSON}\s+(?i:married|engaged)\b"),
    re.compile(rf"^\s*(?i:who)\s+(?i:marries|married|weds|wedded|wed)\s+{_PERSON}(?!\s+(?i:and)\b)"),
]
_MARRIED = "(?:married|marries|marrying|wedded|weds|espoused)"
_LABEL = re.compile(rf"(?:^|\n)[ \t]*({speakers.NAME})\.(?=\s)")     # 'CALIBAN.', 'Cal.', on its line or leading
_SENTENCE_GAP = r"[^.!?;]{0,100}?"                                  # within one sentence


def kin_asked(question: str) -> tuple[str, str] | None:
    """(person, relative) a question asks about: 'Who was Caliban's mother?' -> ('Caliban', 'mother'); None for
    other questions."""
    match = _ASKS.match(question)
    spouse = None if match else next(filter(None, (pattern.match(question) for pattern in _ASKS_SPOUSE)), None)
    found = match or spouse
    if found is None or found.group("person").split()[0].lower() in ("the", "a", "his", "her", "their"):
        return None
    return found.group("person"), "spouse" if spouse else match.group("kin").lower()


def other_than(question: str) -> str | None:
    """The person a kin question leaves out: 'Who is Lear's daughter other than Cordelia?' -> 'Cordelia'."""
    match = _ASKS.match(question)
    return match.group("other") if match else None


def siblings_as_children(question: str, parent_of: Callable[[str], str | None]) -> str | None:
    """'Who is Ophelia's brother?' asked as 'Who is Polonius's son other than Ophelia?' where `parent_of`
    (a person -> the parent their cast-list entry names) knows her parent: a cast list names each child's parent,
    never a sibling. None for other questions, or when the parent is not known."""
    kin = kin_asked(question)
    if kin is None or kin[1] not in ("sister", "brother"):
        return None
    parent = parent_of(kin[0])
    if parent is None:
        return None
    return f"Who is {parent}'s {'daughter' if kin[1] == 'sister' else 'son'} other than {kin[0]}?"


def parent_named(person: str, text: str) -> str | None:
    """The parent the entry of `person` in a cast list names ('LAERTES, Son to Polonius.' -> 'Polonius',
    'OPHELIA, daughter to Polonius' -> 'Polonius'), None without one."""
    name = re.escape(person.split()[-1])
    entry = re.search(rf"(?m)^[ \t]*(?i:{name})\b[^.;\n]{{0,60}}?\b(?i:son|daughter|child)\s+(?i:to|of)\s+"
                      rf"(?:the\s+)?([A-Z][\w'’-]+)", text)
    return entry.group(1) if entry else None


def ties(person: str, kin: str, text: str, other: str | None = None) -> bool:
    """Whether `text` ties the relative `kin` to `person` (see the module's text). A text led by a speaker's label
    ('CALIBAN. This island's mine, by Sycorax my mother') counts as that speaker's words. With `other` (a sibling
    asked as a child: 'Lear's daughter other than Cordelia'), only another child's cast entry does (_another_child)."""
    surname = person.split()[-1]                                     # 'Captain Ahab' -> 'Ahab'
    if surname[:3] not in text and surname[:3].upper() not in text:   # a cheap test most texts fail: each tie
        return False                                                  # names the person, at least by a label
    name = re.escape(surname)
    relative = "(?:wife|wives|husband|spouse)s?" if kin == "spouse" else rf"{kin}s?"
    if not re.search(rf"(?i)\b{name}\b", text):                      # only their own label may stand for them
        return not other and _named_beside(person, name, relative, text)               # ('Cal.': 'my mother')
    if other:
        return _another_child(name, kin, re.escape(other.split()[-1]), text)
    said = re.search(rf"(?i)\b{name}['’]s?\s+(?:\w+\s+)?{relative}\b"                    # "Caliban's mother"
                     rf"|\b{relative}\s+(?:of|to)\s+(?:(?:the|that|this)\s+)?(?:\w+\s+)?{name}\b",  # 'Uncle of Olivia'
                     text)
    return said is not None or _tied_the_other_way(name, kin, text) or _named_beside(person, name, relative, text) \
        or (kin in ("wife", "spouse") and _titled_wife(name, text)) or (kin in _SPOUSES and _married(name, text))


def _married(name: str, text: str) -> bool:
    """A marriage stated of the person: 'Antony is married', 'Toby hath married Maria', 'married to Octavia',
    "Toby's marriage with Maria", "the marriage of the king's daughter Claribel to the King of Tunis"; not
    'your disposition to be married' nor 'Paris should have married Juliet'."""
    stated = (rf"\b{name}\b(?:\s+(?:is|was|were|are|has|had|hath)(?:\s+been)?)?\s+(?:now\s+|since\s+|lately\s+)?"
              rf"{_MARRIED}\b",                                                        # 'Toby hath married'
              rf"\b(?:{_MARRIED}|engaged|betrothed)\s+(?:to|with)\s+(?:(?:the|that|this)\s+)?(?:\w+\s+)?{name}\b",
              rf"\b{name}['’]s\s+(?:marriage|wedding)\s+(?:to|with)\b",                  # "Toby's marriage with"
              rf"\b(?:marriage|wedding)\s+of\s+(?:[\w'’]+\s+){{0,4}}?{name}\s+(?:to|with)\b")
    return re.search("|".join(stated), text, re.I) is not None


def _titled_wife(name: str, text: str) -> bool:
    """'LADY MACDUFF', 'Mrs. Bennet': a wife goes by her husband's name after her title."""
    return re.search(rf"\b(?i:lady|mrs\.?|madam|madame)[ \t]+(?i:{name})\b", text) is not None


def _another_child(parent: str, kin: str, other: str, text: str) -> bool:
    """'Who is Gloster's son other than Edgar?' (a sibling asked as a child: siblings_as_children): only a cast
    list's entry of another child answers ('Edmund, Bastard Son to Gloster.'), not 'my son Paris' in Capulet's
    speech (his daughter's suitor), nor a text opening with the child left out."""
    if re.match(rf"(?i)\W*{other}\b", text):
        return False
    entry = rf"(?m)^[ \t]*(?!(?i:{other})\b)[A-Z][\w'’-]*(?:[ \t]+[A-Z][\w'’-]*)*,[^.;\n]{{0,40}}?"
    return re.search(rf"{entry}\b(?i:{kin})\s+(?i:to|of)\s+(?:the\s+)?{parent}\b", text) is not None


def _tied_the_other_way(name: str, kin: str, text: str) -> bool:
    """'FLEANCE, Son to Banquo': the person's entry names the relative by the inverse tie. It names a father; a
    mother only where the parents named hold a woman ('PERDITA, daughter to Leontes and Hermione')."""
    inverse = "|".join(_INVERSE.get(kin, "").split())
    entries = re.finditer(rf"(?i)\b{name}\b[^.;\n]{{0,60}}?\b(?:{inverse})\s+(?:of|to)\b([^.;\n]*)", text)
    return any(kin != "mother" or _MOTHER_NAMED.search(entry.group(1)) for entry in entries)


def _named_beside(person: str, name: str, relative: str, text: str) -> bool:
    """'by Sycorax my mother' in Caliban's speech, 'Elizabeth walked on with her eldest sister Jane': the relative
    named beside the word (after it, where a word comes between: 'With Rosaline, my ghostly father' is a friar),
    not 'My noble brother!' nor 'ask my father / For his advice'."""
    for match in re.finditer(rf"(?i)\b(my|his|her)\s+(\w+\s+)?{relative}\b", text):
        if not _named_after(text, match.end()) and (match.group(2) or not _named_before(text, match.start())):
            continue
        if match.group(1).lower() == "my":
            if _spoken_by(person, text, match.start()):
                return True
        elif re.search(rf"(?i)\b{name}\b{_SENTENCE_GAP}$", text[max(match.start() - 200, 0):match.start()]):
            return True
    return False


def _named_before(text: str, start: int) -> bool:
    """Whether a capitalised name stands just before `start` ('by Sycorax my mother'), on the same line and not
    opening a sentence ('Is my father well?') or a line of verse."""
    return re.search(r"[a-z,][ \t]+[A-Z][a-z]+,?[ \t]+$", text[max(start - 40, 0):start]) is not None


def _named_after(text: str, end: int) -> bool:
    """Whether a capitalised name follows `end` on the same line ('her sister Jane', 'my father, Mr. Bennet')."""
    return re.match(r",?[ \t]+[A-Z][a-z]+", text[end:]) is not None


def _spoken_by(person: str, text: str, position: int) -> bool:
    """Whether the speech holding `position` of a play's `text` is the person's: the last label before it names
    them ('CALIBAN.', 'Caliban.', or a shortening of at least three letters: 'Cal.')."""
    labels = [m.group(1).lower() for m in _LABEL.finditer(text, 0, position)]
    if not labels:
        return False
    wanted = person.lower()
    return labels[-1] in (wanted, wanted.split()[-1]) or (len(labels[-1]) >= 3 and
                                                          wanted.split()[-1].startswith(labels[-1]))
