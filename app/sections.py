"""Questions that name a part of a book: 'In Act 3, Scene 2, ...', 'in chapter XII', 'in the last chapter', 'at
the end of the play', 'when the novel begins'.

A reader who names the part means it: the retriever then searches only the chunks of that part (each chunk knows
the section in force where it begins and the sections that begin inside it, from ingest's chapter/act/scene
headings). Numbers are written as digits, roman numerals or words; 'the first', 'the third', 'the last' or 'the
final' count the document's parts of that kind in reading order. The beginning and the end of a book are its
first and last smallest parts (scene, else chapter ...), with what comes before or after them (a prologue, an
epilogue), and at least its first or last END_SHARE of chunks: a short last chapter is not all of the ending.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from ingest.parse.text import HEADING_LEVEL, NUMBER_WORDS

LAST = -1                                      # 'the last chapter', 'the final scene'
SMALLEST = "smallest part"                     # the kind 'the end' / 'the beginning' count: a play's scenes ...
END_SHARE = 0.05                               # the least share of a book's chunks its beginning or end holds
_KINDS = sorted(HEADING_LEVEL, key=HEADING_LEVEL.get)                  # outermost first
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
             "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth").split()
_ROMAN = re.compile(r"(?=[MDCLXVI])M*(C[MD]|D?C{0,3})(X[CL]|L?X{0,3})(I[XV]|V?I{0,3})", re.I)
_KIND = "|".join(_KINDS)
_NUMERAL = r"\d+|[MDCLXVI]+\b|" + "|".join(NUMBER_WORDS)
_NUMBERED = re.compile(rf"\b({_KIND})\s+({_NUMERAL})\b", re.I)                       # 'Act 3', 'CHAPTER XII'
_COUNTED = re.compile(rf"\bthe\s+({'|'.join(_ORDINALS)}|opening|last|final|closing)\s+({_KIND})\b",
                      re.I)                                                      # 'the last chapter'
_WORK = r"(?:play|novel|book|story|tale|drama|tragedy|comedy|poem)"
# the end (the beginning) of the whole work: 'at the end', 'at the end of the play', 'in the end'; not 'at the end
# of a session' nor 'at the end of Act 3' (that names the act)
_WHOLE = rf"(?:\s+of\s+(?:the|this)\s+{_WORK}\b|(?=\s*(?:[,;:?.!]|$)))"
_AT_END = re.compile(rf"\b(?:at|by|towards?|near)\s+the\s+(?:very\s+)?end{_WHOLE}|\bin\s+the\s+end\b"
                     rf"|\bthe\s+(?:very\s+)?(?:end|ending|close|conclusion)\s+of\s+(?:the|this)\s+{_WORK}\b"
                     rf"|\bwhen\s+the\s+{_WORK}\s+ends\b", re.I)
_AT_BEGINNING = re.compile(rf"\b(?:at|in|near)\s+the\s+(?:very\s+)?(?:beginning|start|opening|outset){_WHOLE}"
                           rf"|\bthe\s+(?:very\s+)?(?:beginning|start|opening)\s+of\s+(?:the|this)\s+{_WORK}\b"
                           rf"|\bwhen\s+the\s+{_WORK}\s+(?:begins|opens|starts)\b", re.I)
# 'How does the novel end?', 'What is the first line of the play?': ask of the end (the beginning), and those are
# their words (kept in what is matched)
_LINES = r"(?:line|lines|sentence|words|paragraph)"
_ASKS_ENDING = re.compile(rf"\b(?:does|did)\s+the\s+{_WORK}\s+(?:end|close|finish)\b"
                          rf"|\b(?:last|final|closing)\s+{_LINES}\s+of\s+the\s+{_WORK}\b", re.I)
_ASKS_BEGINNING = re.compile(rf"\b(?:does|did)\s+the\s+{_WORK}\s+(?:begin|open|start)\b"
                             rf"|\b(?:first|opening)\s+{_LINES}\s+of\s+the\s+{_WORK}\b", re.I)
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
            parts[kind] = LAST if ordinal in ("last", "final", "closing") else \
                1 if ordinal == "opening" else _ORDINALS.index(ordinal) + 1
            counted.add(kind)
    if parts:
        return SectionRef(tuple((kind, parts[kind]) for kind in _KINDS if kind in parts), frozenset(counted))
    end_or_beginning = _end_or_beginning(question)
    if end_or_beginning is None:
        return None
    return SectionRef(((SMALLEST, LAST if end_or_beginning == "the end" else 1),), frozenset({SMALLEST}))


def _end_or_beginning(question: str) -> str | None:
    """'the end' or 'the beginning' when the question asks of the end or the beginning of the whole book."""
    if _AT_END.search(question) or _ASKS_ENDING.search(question):
        return "the end"
    if _AT_BEGINNING.search(question) or _ASKS_BEGINNING.search(question):
        return "the beginning"
    return None


def without_section_ref(question: str) -> str:
    """The question with the part of the book it names or asks for taken out ('In Act 2, Scene 3, who knocks?' ->
    'who knocks?', 'In which chapter does Ishmael meet Queequeg?' -> 'does Ishmael meet Queequeg?'): what is asked
    of the text, whose words should match the text, not its headings."""
    spans = _named_spans(question) + [m.span() for m in _ASKS_FOR_PART.finditer(question)]
    if not spans and _end_or_beginning(question):              # 'at the end', 'when the play begins'
        spans = [m.span() for pattern in (_AT_END, _AT_BEGINNING) for m in pattern.finditer(question)]
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
    """The words of the question that name a part of a book ('Act 4, Scene 1', 'the last chapter'), 'the end' or
    'the beginning' (of the whole book), None if none."""
    spans = _named_spans(question)
    if not spans:
        return _end_or_beginning(question)
    return "; ".join(question[a:b] for a, b in _merged(sorted(spans), question))


def names_a_numbered_part(question: str) -> bool:
    """Whether the question names a part by its kind ('Act 3', 'the last chapter'), not only the end or the
    beginning of the book (which, in a document without parts, is no part it lacks: it is the whole)."""
    return bool(_named_spans(question))


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
    """Each span grown over the preposition before it ('in Act 3', 'during the last scene', 'at the end of'), and
    over 'of the book' and a comma after it."""
    grown = []
    for start, stop in merged:
        before = re.search(r"\b(in|during|at|from|of|by|according\s+to|(at|by|towards?|near)\s+the\s+(very\s+)?"
                           r"(end|beginning|start)\s+of)\s+$", question[:start], re.I)
        after = re.match(rf"(\s+(of|in)\s+(the|this)\s+{_WORK}\b)?\s*,?", question[stop:])
        grown.append((before.start() if before else start, stop + after.end()))
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
    if ref.parts[0][0] == SMALLEST:
        return _end_or_beginning_chunks(numbered, wanted, ref.parts[0][1])
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


def smallest_kind(sections: list[dict[str, int]]) -> str | None:
    """The innermost kind of numbered part among a book's sections (each as `title_numbers` reads its title): a
    play's 'scene', a novel's 'chapter'; None when none is numbered."""
    kinds = {kind for numbers in sections for kind in numbers}
    return max(kinds, key=HEADING_LEVEL.get) if kinds else None


def _end_or_beginning_chunks(numbered: list[list[dict[str, int]]], sections: list[dict[str, int]],
                             ordinal: int) -> list[int]:
    """Positions of the chunks of a book's end (ordinal LAST) or beginning (1): from its last smallest part's first
    chunk to the book's end, or from its start to its first smallest part's last chunk, and at least END_SHARE of
    its chunks; [] when the book has no numbered parts."""
    smallest = smallest_kind(sections)
    if smallest is None:
        return []
    chosen = _counted(sections, smallest, ordinal)
    inside = [position for position, chunk in enumerate(numbered) if any(numbers in chosen for numbers in chunk)]
    share = math.ceil(END_SHARE * len(numbered))
    if ordinal == LAST:
        return list(range(min(inside[0], len(numbered) - share), len(numbered)))
    return list(range(max(inside[-1] + 1, share)))
