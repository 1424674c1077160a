"""'What is chapter 42 called?', 'Where does Act 2, Scene 1 take place?': the part's heading answers.

A book prints a part's title, and a play the place of a scene, in the part's heading ('CHAPTER 42. The Whiteness
of The Whale', 'SCENE I. Inverness. Court within the Castle'); no sentence of the text says it. A heading that
is its number alone ('Chapter 9') answers nothing: the question is then answered from the part's text. 'What
happens in chapter 110?' has no sentence that says either: the heading and the part's opening sentences answer.

    asks_part_title("What is the title of chapter 9?")        -> True
    asks_part_gist("What happens in Act 3, Scene 1?")          -> True
    heading_title("CHAPTER 42. The Whiteness of The Whale")  -> "The Whiteness of The Whale"
    heading_title("Chapter 9")                               -> None
"""
from __future__ import annotations

import re

from ingest.parse.text import HEADING_LEVEL

from app.sections import SectionRef, names_a_numbered_part, section_ref, title_numbers
from app.speeches import within_words
from app.text_utils import sentence_spans

GIST_WORDS = 50         # the most words of a part's opening that answer 'What happens in ...?'
_LABEL = re.compile(r"[A-Z][A-Za-z'’]*(?: [A-Z][A-Za-z'’]*){0,2}\.")      # 'Mercutio.', 'FIRST WITCH.'
_KINDS = "|".join(HEADING_LEVEL)                                    # 'chapter', 'act', 'scene' ... (ingest's)
_PART = rf"(?:{_KINDS}|section)\s+\S+"
_ASKS_TITLE = re.compile(rf"^\s*(what|which)\s+(is|was|'s)\s+the\s+(title|name|heading)\s+of\s+(the\s+)?{_PART}"
                         rf"|^\s*what\s+(is|was)\s+(the\s+)?{_PART}\s+(called|titled|entitled|named)\b"
                         rf"|^\s*what\s+title\s+(does|did)\s+(the\s+)?{_PART}", re.I)
# 'What happens in chapter 110?', 'What is Act 3 about?': no sentence says; the part's title and its opening do best
_PARTS = rf"{_PART}(?:,?\s+{_PART})*"                                    # 'Act 3, Scene 1'
_ASKS_GIST = re.compile(rf"^\s*what\s+(happens|happened|goes\s+on|occurs)\s+(in|during)\s+(the\s+)?{_PARTS}\W*$"
                        rf"|^\s*what\s+(is|was)\s+(the\s+)?{_PARTS}\s+about\W*$", re.I)
# 'Where does Act 2, Scene 1 take place?': a scene's heading says where it is; a chapter's title is no place
_ASKS_PLACE = re.compile(r"^\s*where\s+(is|was|does|do|did)\b.*\b(set|take\s+place|takes\s+place)\b", re.I)
_NUMBER_PART = re.compile(rf"^\W*((?:{_KINDS})\s+([\dMDCLXVI]+|[A-Z]+)\b[^\w(]*"
                          r"(\([^)]*\)[^\w(]*)?)+", re.I)                 # 'BOOK I. (FOLIO), CHAPTER I. '


def asks_part_title(question: str) -> bool:
    """Whether the question names a part by its number (chapter, act, scene ...) and asks what it is called, or a
    scene and asks where it takes place."""
    ref = _numbered_part(question)
    return ref is not None and (_ASKS_TITLE.search(question) is not None or
                                (_ASKS_PLACE.search(question) is not None and "scene" in dict(ref.parts)))


def asks_part_gist(question: str) -> bool:
    """Whether the question asks what happens in a part it names by number, or what the part is about."""
    return _numbered_part(question) is not None and _ASKS_GIST.search(question) is not None


def _numbered_part(question: str) -> SectionRef | None:
    """The part the question names by its number ('chapter 42', 'Act 2, Scene 1'); None for none, and for a part
    it counts ('the last chapter': which heading is its, only the part's rows tell)."""
    ref = section_ref(question) if names_a_numbered_part(question) else None
    return ref if ref is not None and not ref.counted else None


def heading_title(heading: str) -> str | None:
    """The words of a part's heading after its kind and number ('ACT II, SCENE I. Inverness. Court within the
    Castle' -> 'Inverness. Court within the Castle'); None when it has none."""
    numbered = _NUMBER_PART.match(heading)
    if not numbered or not title_numbers(heading):
        return None
    title = heading[numbered.end():].strip(" .:-—–()")
    return title if re.search(r"[A-Za-z]{2,}", title) else None


def is_heading_of(ref: SectionRef, heading: str) -> bool:
    """Whether `heading` opens the part `ref` numbers ('ACT II, SCENE I. ...' for Act 2, Scene 1)."""
    numbers = title_numbers(heading)
    return all(numbers.get(kind) == number for kind, number in ref.parts)


def heading_at(text: str, heading: str) -> tuple[int, int] | None:
    """The span where `text` prints the heading: the whole, or its innermost part ('ACT II, SCENE I. Inverness' is
    printed as 'ACT II.' and, lines on, 'SCENE I. Inverness'), spaces as they fall; None when it does not."""
    parts = heading.split(", ")
    for shown in (", ".join(parts[i:]) for i in range(len(parts))):
        found = re.search(r"\s+".join(map(re.escape, shown.split())), text)
        if found:
            return found.span()
    return None


def opening_after(text: str, start: int, max_words: int) -> tuple[int, int]:
    """The span of the whole sentences of `text` after a heading ending at `start` (its closing stop skipped), up to
    `max_words` words (the first sentence whatever its length), less a speaker's label left last ('Mercutio.')."""
    start += len(re.match(r"[\s.:;,—–-]*", text[start:]).group(0))
    spans = [(start + a, start + b) for a, b in sentence_spans(text[start:])]
    if not spans:
        return start, start
    _, end = within_words(text, spans, last=False, max_words=max_words)
    chosen = [span for span in spans if span[1] <= end]
    while len(chosen) > 1 and _LABEL.fullmatch(text[slice(*chosen[-1])]):
        chosen.pop()
    return chosen[0][0], chosen[-1][1]
