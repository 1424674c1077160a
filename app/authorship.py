"""'Who wrote Moby Dick?', 'Who is the author of the play?': a book names its author once, in the byline under its
title ('MOBY DICK; OR THE WHALE\\n\\nBy Herman Melville', 'THE TEMPEST\\n\\nby William Shakespeare'), which shares
no word with the question but the title's. A question naming a title is answered only by a byline under it: 'Who
wrote An Introduction to R?' is not answered by The Tempest's.
"""
from __future__ import annotations

import re

from app.text_utils import STOPWORDS, words

_ASKS = re.compile(r"^\s*(?:who\s+(?:wrote|writes|authored|penned|composed)\b"
                   r"|who\s+(?:is|was)\s+(?:the\s+)?(?:author|writer|playwright|poet|novelist)\b"
                   r"|(?:what|which)\s+(?:is|was)\s+the\s+(?:name\s+of\s+the\s+)?(?:author|writer|playwright)\b"
                   r"|by\s+whom\s+(?:is|was)\b.*\bwritten\b)", re.I)
_NOT_TITLE = STOPWORDS | {"wrote", "writes", "write", "written", "authored", "penned", "composed", "author",
                          "writer", "playwright", "poet", "novelist", "name", "book", "novel", "play", "poem",
                          "story", "tragedy", "comedy", "work", "text", "document"}   # not words of a title
_BYLINE = re.compile(r"(?m)^[ \t]*(?:[Bb]y|BY|[Ww]ritten by)[ \t]+[A-Z][\w.'’-]*(?:[ \t]+[A-Z][\w.'’-]*){1,3}[ \t]*$")


def asks_author(question: str) -> bool:
    """Whether the question asks who wrote the book (the play, the poem)."""
    return _ASKS.search(question) is not None


def title_words(question: str) -> list[str]:
    """The words a question asking the author gives of the title: 'Who wrote Moby Dick?' -> ['moby', 'dick']."""
    return [w for w in words(question) if w not in _NOT_TITLE]


def names_author(title: list[str], text: str) -> bool:
    """Whether `text` holds a byline (a line of its own that is 'By' and a name: 'By Herman Melville') and each word
    of the `title` the question gives (any case)."""
    if _BYLINE.search(text) is None:
        return False
    found = set(words(text))
    return all(w in found for w in title)
