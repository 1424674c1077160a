"""'Who is the narrator?', 'What is the narrator's name?': a first-person narrator names themself once, in their
own words ('Call me Ishmael.', 'My name is Pip'), which share no word with the question but 'name' or 'call'.
"""
from __future__ import annotations

import re

_ASKS = re.compile(r"^\s*(?:who\s+(?:is|was)\s+the\s+narrator|who\s+narrates|who\s+tells\s+the\s+story"
                   r"|what\s+(?:is|was)\s+(?:the\s+name\s+of\s+the\s+narrator|the\s+narrator['’]s\s+name)"
                   r"|what\s+(?:name|is\s+the\s+name)\b.*\bnarrator\b)", re.I)
_SELF_NAMING = re.compile(r"\b(?:[Cc]all me|[Mm]y name (?:is|was)|I am called|I was called|[Tt]hey call(?:ed)? me|"
                          r"I was (?:christened|named))\s+(?:[A-Z][a-z]+\s+)?[A-Z][a-z]+")


def asks_narrator(question: str) -> bool:
    """Whether the question asks who tells the story, or the name the narrator goes by."""
    return _ASKS.search(question) is not None


def names_narrator(text: str) -> bool:
    """Whether `text` holds a narrator naming themself ('Call me Ishmael.'), outside quotation marks (a character
    saying 'My name is Tom' in dialogue is not the narrator)."""
    for match in _SELF_NAMING.finditer(text):
        paragraph = text[text.rfind("\n\n", 0, match.start()) + 1: match.start()]
        if paragraph.count('"') % 2 == 0 and paragraph.count("“") == paragraph.count("”"):
            return True
    return False
