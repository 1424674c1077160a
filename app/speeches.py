"""'What are Romeo's last words?', 'What does Hamlet say first?': a speaker's last (first) words in a play.

They close the speaker's last speech (open the first), which the play marks with the speaker's label ('Romeo.')
and the next label: where they are is known from the labels alone, while the question shares no word with them
('Thus with a kiss I die.') and the speaker's name is on every page of the play.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from app.speakers import speeches
from app.text_utils import sentence_spans

WORDS_QUOTED = 25        # the answer: the speech's last (first) whole sentences up to this many words, at least one
_TITLES = frozenset("king queen prince princess lord lady sir duke duchess earl count countess friar".split())
_NAME = r"(?P<name>[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,2})"
_WHICH = r"(?P<which>(?i:last|final|dying|closing|first|opening))"
_WORDS = r"(?i:words?|lines?|speech|thing)"
_ASKS = [
    # 'What are Romeo's last words before he dies?', 'What is Juliet's first line?'
    re.compile(rf"^\s*(?i:what)\s+(?i:are|were|is|was)\s+{_NAME}['’]s?\s+{_WHICH}\s+{_WORDS}\b"),
    # 'What are the last words of Romeo?', 'What is the first line spoken by Hamlet?', 'the last thing Lear says'
    re.compile(rf"^\s*(?i:what)\s+(?i:are|were|is|was)\s+(?i:the)\s+{_WHICH}\s+{_WORDS}\s+"
               rf"(?:(?i:of|spoken by|said by|that|which)\s+)?{_NAME}\b"),
    # 'What does Romeo say last?', 'What does Hamlet say first in the play?'
    re.compile(rf"^\s*(?i:what)\s+(?i:does|did)\s+{_NAME}\s+(?i:say|speak|utter)\s+{_WHICH}\b"),
]
_DIRECTION = re.compile(r"\[[^\]]*\]")


@dataclass(frozen=True)
class SpeechAsked:
    name: str             # as the question writes it: 'Romeo', 'Lady Macbeth', 'King Lear'
    last: bool            # the last words (else the first)


@dataclass(frozen=True)
class SpokenWords:
    label: str            # the speaker's label as the play writes it ('Romeo', 'LADY MACBETH')
    start: int            # the words' character span in the play's text
    end: int


@dataclass(frozen=True)
class WordsInChunk:
    row: int              # the chunk holding the words' end (the last words) or start (the first)
    start: int            # the words' span from that chunk's first character (the start may lie before it)
    end: int
    speaker: str          # the name the label stands for ('Cordelia' for 'Cor')


def speech_asked(question: str) -> SpeechAsked | None:
    """Whose last (first) words the question asks for, None when it asks none."""
    for pattern in _ASKS:
        match = pattern.match(question)
        if match and match.group("name").split()[0].lower() not in ("the", "a", "his", "her", "their"):
            return SpeechAsked(match.group("name"), match.group("which").lower() not in ("first", "opening"))
    return None


def spoken_words(text: str, asked: SpeechAsked, full_names: dict[str, str] | None = None) -> SpokenWords | None:
    """The last (first) words the asked speaker speaks in a play's `text`: the last (first) whole sentences of
    their last (first) speech, stage directions aside; None when nobody of that name speaks in it. A label that
    shortens a name ('Cor') counts as the name `full_names` spells out; 'King Lear' is 'Lear' where only he speaks."""
    spoken = speeches(text)
    labels = {label for label, *_ in spoken}
    wanted = _labels_named(asked.name, labels, full_names or {})
    own = [(label, start, end) for label, start, end in spoken if label in wanted]
    if not own:
        return None
    label, start, end = own[-1] if asked.last else own[0]
    span = _quoted_sentences(_DIRECTION.sub(lambda m: " " * len(m.group()), text[start:end]), asked.last)
    return SpokenWords(label, start + span[0], start + span[1]) if span else None


def _labels_named(name: str, labels: set[str], full_names: dict[str, str]) -> set[str]:
    def named(wanted: str) -> set[str]:
        return {label for label in labels if wanted.lower() in (label.lower(), full_names.get(label, "").lower())}
    words = name.split()
    found = named(name)
    if not found and len(words) > 1 and words[0].lower() in _TITLES:      # 'King Lear' labelled 'Lear.'
        found = named(" ".join(words[1:]))
    return found


def _quoted_sentences(speech: str, last: bool) -> tuple[int, int] | None:
    """Span of the speech's last (first) whole sentences, WORDS_QUOTED words at most but at least one sentence."""
    spans = sentence_spans(speech)
    if not spans:
        return None
    chosen, count = [], 0
    for start, end in (reversed(spans) if last else spans):
        count += len(speech[start:end].split())
        if chosen and count > WORDS_QUOTED:
            break
        chosen.append((start, end))
    return min(s for s, _ in chosen), max(e for _, e in chosen)
