"""'Who is Banquo?', "What is Malvolio's job?": a question asking who a named person is or what they do, answered
where the text introduces them.

A book introduces its people once, near where they first appear: a play's cast list ("BANQUO, General in the
King's Army."), a novel's first description ("Stubb was the second mate.", "Flask, a native of Tisbury"). Later
passages mention the name far more often and say far less about who it is, so ranking by the name alone finds
them instead.
"""
from __future__ import annotations

import re

_NAME_WORD = r"[A-Z][\w'’-]*\.?"          # 'Banquo', "O'Brien", 'Mr.'
_NAME = rf"(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})"
_WHO_IS = re.compile(rf"^\s*(?i:who\s+(?:is|was))\s+{_NAME}\s*\?*\s*$")
_ROLE = r"(?i:job|occupation|profession|trade|calling|position|post|office|role|rank|station|religious\s+order)"
# 'What is Malvolio's job?', 'What position does Kent hold?', 'What does Stephano do for a living?': what a person
# does is said where the text introduces them ('MALVOLIO, Steward to Olivia.', 'Stubb was the second mate.')
_ROLE_OF = [
    re.compile(rf"^\s*(?i:what)\s+(?i:is|was)\s+{_NAME}['’]s?\s+{_ROLE}\b"),
    re.compile(rf"^\s*(?i:what)\s+{_ROLE}\s+(?i:does|did)\s+{_NAME}\s+(?i:have|hold|fill|occupy)\b"),
    re.compile(rf"^\s*(?i:what)\s+(?i:does|did)\s+{_NAME}\s+(?i:do\s+for\s+(?:a\s+)?living)\b"),
    re.compile(rf"^\s*(?i:what)\s+(?i:is|was)\s+{_NAME}\s+(?i:by\s+(?:profession|trade))\b"),
]
# 'FLEANCE, Son to Banquo.': an introduction that gives only a relative says who a person is, not what they do
_KIN_ONLY = re.compile(r"(?i)(?:the\s+)?(?:(?:eldest|elder|younger|youngest|only)\s+)?(?:son|daughter|wife|husband|"
                       r"brother|sister|father|mother|nephew|niece|cousin|kinsman|kinswoman|uncle|aunt|widow|"
                       r"grandson|granddaughter|child)\s+(?:to|of)\s+[^,;]*\.?\s*")
CAST_LINE_CHARS = 60    # a cast list's line is one short entry; a novel's lines are wrapped prose, most longer
_NOT_NAMES = frozenset("the a an this that these those his her their my your our its he she it they him".split())


def person_asked_about(question: str) -> str | None:
    """The name in 'Who is Banquo?' / 'Who was Mr. Hussey?' / "What is Malvolio's job?", None for other questions
    ('Who is the chief mate?', 'Who was Caliban's mother?': those ask for a name, not about one)."""
    match = _WHO_IS.match(question) or next(filter(None, (pattern.match(question) for pattern in _ROLE_OF)), None)
    if match is None:
        return None
    name = match.group("name")
    if name.split()[0].lower() in _NOT_NAMES or re.search(r"['’]s?(\s|$)", name):      # "Caliban's mother"
        return None
    return name


def asks_role(question: str) -> bool:
    """Whether the question asks what a person does ("What is Malvolio's job?"), not who they are."""
    return any(pattern.match(question) for pattern in _ROLE_OF)


def introduces_role(name: str, text: str) -> bool:
    """Whether `text` introduces the person `name` with more than a relative: 'MALVOLIO, Steward to Olivia.' says
    what he does, 'FLEANCE, Son to Banquo.' does not (asked his profession, the play does not say it)."""
    if not introduces(name, text):
        return False
    entries = re.findall(rf"(?im)^[ \t]*{_as_written(name)},[ \t]*([^\n]*)$", text)
    return not entries or not all(_KIN_ONLY.fullmatch(entry.strip()) for entry in entries)


def introduces(name: str, text: str) -> bool:
    """Whether `text` introduces the person `name`: a cast-list line, short and one entry alone ('BANQUO, General in
    the King's Army.'; not a wrapped line of prose that happens to open with the name and a comma), or a
    description ('Stubb was the second mate.', 'the chief mate of the Pequod was Starbuck, a native of
    Nantucket', 'Mr. Hussey was not a man to hurry')."""
    surname = name.split()[-1]
    if surname not in text and surname.upper() not in text:          # a cheap test first: most texts fail it
        return False
    written = _as_written(name)
    cast_line = any(len(line) <= CAST_LINE_CHARS for line in
                    re.findall(rf"(?im)^[ \t]*{written},[ \t]*[^\n.?!;:]+\.?[ \t]*$", text))
    described = re.search(rf"(?i)\b{written}(?:,|\s+(?:who\s+)?(?:was|is)(?:\s+not)?)\s+(?:a|an|the|one|his|her)\b",
                          text)
    return cast_line or described is not None


def _as_written(name: str) -> str:
    """A pattern of the name as a text writes it: its words, any whitespace (a line break too) between them."""
    return r"\s+".join(re.escape(word) for word in name.split())
