"""Questions that name a part of a book: 'In Act 3, Scene 2, ...', 'in chapter XII', 'in the last chapter'.

A reader who names the part means it: the retriever then searches only the chunks of that part (each chunk knows
the section in force where it begins and the sections that begin inside it, from ingest's chapter/act/scene
headings). Numbers are written as digits, roman numerals or words; 'the first', 'the third', 'the last' or 'the
final' count the document's parts of that kind in reading order.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ingest.parse.text import HEADING_LEVEL, NUMBER_WORDS

LAST = -1                                      # 'the last chapter', 'the final scene'
_KINDS = sorted(HEADING_LEVEL, key=HEADING_LEVEL.get)                  # outermost first
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
             "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth").split()
_ROMAN = re.compile(r"(?=[MDCLXVI])M*(C[MD]|D?C{0,3})(X[CL]|L?X{0,3})(I[XV]|V?I{0,3})", re.I)
_KIND = "|".join(_KINDS)
_NUMERAL = r"\d+|[MDCLXVI]+\b|" + "|".join(NUMBER_WORDS)
_NUMBERED = re.compile(rf"\b({_KIND})\s+({_NUMERAL})\b", re.I)                       # 'Act 3', 'CHAPTER XII'
_COUNTED = re.compile(rf"\bthe\s+({'|'.join(_ORDINALS)}|last|final)\s+({_KIND})\b", re.I)  # 'the last chapter'
# 'In which chapter ...?', 'Which section covers loops?' (not 'Which book does he quote?' nor 'What part of the
# file ...?': those ask of content)
_ASKS_FOR_PART = re.compile(r"^\s*(in\s+|during\s+)?(which|what)\s+(chapter|act|scene|canto|section)\b", re.I)


@dataclass(frozen=True)
class SectionRef:
    """The part a question names: (kind, number) pairs, outermost first; a number is 1-based, or LAST; `counted`
    kinds were named by an ordinal ('the third scene'), which counts the document's parts rather than their
    printed numbers."""
    parts: tuple[tuple[str, int], ...]
    counted: frozenset[str] = frozenset()


def asks_for_part(question: str) -> bool:
    """Whether the question asks in which part of a book something happens ('In which chapter does Ishmael meet
    Queequeg?', 'What act is the banquet in?'): its answer should name the section."""
    return _ASKS_FOR_PART.match(question) is not None


def number_value(text: str, strict_roman: bool = True) -> int | None:
    """'12', 'XII', 'xii', 'twelve' -> 12; None when `text` is no number. A lone lower-case 'i' is the pronoun
    unless strict_roman is off (in a heading it is a numeral)."""
    word = text.lower()
    if word.isdigit():
        return int(word)
    if word in NUMBER_WORDS:
        return NUMBER_WORDS.index(word) + 1
    if not _ROMAN.fullmatch(text) or (strict_roman and text == "i"):
        return None
    values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
    digits = [values[c] for c in word]
    return sum(-d if later > d else d for d, later in zip(digits, digits[1:] + [0]))


def section_ref(question: str) -> SectionRef | None:
    """The part of a book the question names, None when it names none."""
    parts: dict[str, int] = {}
    counted = set()
    for match in _NUMBERED.finditer(question):
        if _is_number(match, question):
            parts.setdefault(match.group(1).lower(), number_value(match.group(2), strict_roman=False))
    for match in _COUNTED.finditer(question):
        kind, ordinal = match.group(2).lower(), match.group(1).lower()
        if kind not in parts:
            parts[kind] = LAST if ordinal in ("last", "final") else _ORDINALS.index(ordinal) + 1
            counted.add(kind)
    if not parts:
        return None
    return SectionRef(tuple((kind, parts[kind]) for kind in _KINDS if kind in parts), frozenset(counted))


def without_section_ref(question: str) -> str:
    """The question with the part of the book it names or asks for taken out ('In Act 2, Scene 3, who knocks?' ->
    'who knocks?', 'In which chapter does Ishmael meet Queequeg?' -> 'does Ishmael meet Queequeg?'): what is asked
    of the text, whose words should match the text, not its headings."""
    spans = _named_spans(question) + [m.span() for m in _ASKS_FOR_PART.finditer(question)]
    if not spans:
        return question
    kept, end = [], 0
    for start, stop in _grown(_merged(sorted(spans), question), question):
        kept.append(question[end:start])
        end = stop
    kept.append(question[end:])
    text = " ".join("".join(kept).split())
    return re.sub(r"^[\s,;:]+|\s+(?=[,;:?.!])|[,;:]+(?=\s*[?.!]?$)", "", text).strip()


def named_part(question: str) -> str | None:
    """The words of the question that name a part of a book ('Act 4, Scene 1', 'the last chapter'), None if none."""
    spans = _named_spans(question)
    return "; ".join(question[a:b] for a, b in _merged(sorted(spans), question)) if spans else None


def _named_spans(question: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _COUNTED.finditer(question)]
    return spans + [m.span() for m in _NUMBERED.finditer(question) if _is_number(m, question)]


def _merged(spans: list[tuple[int, int]], question: str) -> list[tuple[int, int]]:
    """Spans of references, those joined only by commas, 'and' or 'of' merged ('Act 4, Scene 1')."""
    merged = []
    for start, stop in spans:
        if merged and re.fullmatch(r"[\s,]*(and|of)?[\s,]*", question[merged[-1][1]:start], re.I):
            merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return merged


def _grown(merged: list[tuple[int, int]], question: str) -> list[tuple[int, int]]:
    """Each span grown over the preposition before it ('in Act 3', 'during the last scene') and the comma after."""
    grown = []
    for start, stop in merged:
        before = re.search(r"\b(in|during|at|from|of|by)\s+$", question[:start], re.I)
        after = re.match(r"\s*,", question[stop:])
        grown.append((before.start() if before else start, stop + (after.end() if after else 0)))
    return grown


def _is_number(match: re.Match, question: str) -> bool:
    """Whether a 'kind numeral' match of a question names a part ('Act 3'), not 'the scene I like'."""
    pronoun_i_may_follow = re.match(r" [a-z]", question[match.end():]) is not None
    return number_value(match.group(2), strict_roman=pronoun_i_may_follow) is not None


@functools.lru_cache(maxsize=65536)
def title_numbers(title: str) -> dict[str, int]:
    """The numbered parts a section title names: 'ACT I, SCENE III. A heath' -> {'act': 1, 'scene': 3} (cached:
    a title recurs in every chunk of its section; callers must not change the dict)."""
    numbers = {}
    for match in _NUMBERED.finditer(title):
        value = number_value(match.group(2), strict_roman=False)
        if value is not None:
            numbers.setdefault(match.group(1).lower(), value)
    return numbers


def chunks_in_section(ref: SectionRef, chunk_titles: list[list[str]]) -> list[int]:
    """Positions (in `chunk_titles`, one document's chunks in reading order, each with the titles of the sections
    it holds) of the chunks inside the part `ref` names; [] when the document has no such part."""
    numbered = [[title_numbers(title) for title in titles] for titles in chunk_titles]
    wanted = [numbers for chunk in numbered for numbers in chunk]          # every section, in reading order
    for kind, value in ref.parts:
        if kind in ref.counted or value == LAST:
            wanted = _counted(wanted, kind, value)
        else:
            wanted = [numbers for numbers in wanted if numbers.get(kind) == value]
    return [position for position, chunk in enumerate(numbered) if any(numbers in wanted for numbers in chunk)]


def _counted(sections: list[dict[str, int]], kind: str, ordinal: int) -> list[dict[str, int]]:
    """The sections inside the ordinal-th (or the last) part of this kind among `sections`, counted in reading
    order: 'the last scene' of a play is its last act's last scene, not every act's scene of the highest number."""
    def part(numbers):                                                  # the part of this kind a section lies in
        return tuple(numbers.get(k) for k in _KINDS if HEADING_LEVEL[k] <= HEADING_LEVEL[kind])
    parts = list(dict.fromkeys(part(numbers) for numbers in sections if kind in numbers))
    if not parts or ordinal > len(parts):
        return []
    chosen = parts[ordinal - 1] if ordinal != LAST else parts[-1]
    return [numbers for numbers in sections if part(numbers) == chosen]
