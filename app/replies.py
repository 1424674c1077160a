"""'What does Juliet say when the Nurse tells her Romeo is a Montague?': in a play, a speaker's reply to what the
question describes: their words right after the words that match the description best.

    reply_asked("What does Juliet say when the Nurse tells her that Romeo is a Montague?")
        -> ReplyAsked(name="Juliet", cue="when the Nurse her that Romeo is a Montague")
    reply_asked("How does Macduff react when he hears of his children's death?")
        -> ReplyAsked(name="Macduff", cue="when he of his children's death")     (how the news came is not asked)
    reply_asked("What does Hamlet say to Ophelia?")   -> None                     (whom he speaks to, not what to)

The reply shares no word with the question ('My only love sprung from my only hate!'), so the answer step, which
looks for the question's words, takes the cue's own speech instead ('His name is Romeo, and a Montague'). Here the
cue is looked for in the words just before each place the speaker starts to speak: a speech of theirs, or their
words after a stage direction inside one ('[Antony dies.]' in Cleopatra's speech); the reply is that place's first
whole sentences.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from app.answer import Passage, QuestionMatch, best_window_match
from app.speakers import DIRECTION, NAME, speeches, without_directions
from app.speeches import ASKED_NAME, labels_named, names_someone, quoted_sentences
from app.text_utils import names_asked, tokenize

CUE_WORDS = 60          # the words before a place where the speaker starts that the cue is looked for in
MIN_CUE_MATCH = 0.5     # idf-weighted share of the cue's words (word order counts a little) those words must hold
_NAME = rf"(?:(?i:the)\s+)?{ASKED_NAME}"                        # 'Juliet', 'the Nurse'
_REPLIES = r"(?i:say|reply|answer|respond|react|retort|cry|exclaim)"
_REPLY = r"(?i:reply|answer|response|reaction|retort)"
_CUE = r"(?P<cue>\s+(?i:when|whenever|after|as|once|upon|on|at|to)\b.*?)\s*\?*\s*$"
_ASKS = [
    # 'What does Juliet say when ...?', 'How does Macduff react after ...?', 'What did Lear reply to ...?'
    re.compile(rf"^\s*(?i:what|how)\s+(?i:does|did|do)\s+{_NAME}\s+{_REPLIES}{_CUE}"),
    # "What is Cordelia's answer to her father?"
    re.compile(rf"^\s*(?i:what)\s+(?i:is|was)\s+{_NAME}['’]s?\s+{_REPLY}{_CUE}"),
]
_LABEL_LINE = re.compile(rf"(?m)^({NAME})\.$")
# How the news reaches the speaker, which the play shows rather than says: 'when he learns that his son is dead'
# is 'The prince your son ... is gone. -- How! gone? -- Is dead.'
_HEARING = re.compile(r"\b(tells?|told|asks?|asked|learns?|learned|learnt|hears?|heard|says?|said|informs?|informed|"
                      r"finds?\s+out|found\s+out|discovers?|discovered|realises?|realised|realizes?|realized|sees?|saw|"
                      r"seen|news|about)\b", re.I)


@dataclass(frozen=True)
class ReplyAsked:
    name: str             # the speaker as the question writes them: 'Juliet', 'Lady Macbeth'
    cue: str              # what they reply to, as the question describes it: 'when the Nurse tells her ...'


@dataclass(frozen=True)
class Reply:
    passage: Passage      # the passage holding it
    start: int            # the reply's first whole sentences in that passage's text
    end: int
    speaker: str          # the speaker's name ('Cordelia' for the label 'Cor')
    match: float          # how well the words before it hold the cue


def reply_asked(question: str) -> ReplyAsked | None:
    """Whose reply to what the question asks for; None when it asks none (a cue of one content word, 'What does
    Hamlet say to Ophelia?', names whom they speak to, not what they answer: it is asked as any question is)."""
    for pattern in _ASKS:
        match = pattern.match(question)
        if match is None or not names_someone(match):
            continue
        cue = " ".join(_HEARING.sub(" ", match.group("cue")).split())
        if len(tokenize(cue)) >= 2:
            return ReplyAsked(match.group("name"), cue)
    return None


def find_reply(asked: ReplyAsked, passages: list[Passage], idf: Callable[[str], float],
               next_passage: Callable[[Passage], Passage | None] = lambda passage: None) -> Reply | None:
    """The asked speaker's words, in a play's passages, after the words that hold the cue best (the first such
    place in the best-ranked passage on a tie); None when no place where they start to speak follows words holding
    MIN_CUE_MATCH of it (the answer is then looked for as any question's is). Each passage is read on into
    `next_passage` of it (the passage of the chunk after its own), so a reply it cuts off is found whole."""
    match = QuestionMatch(asked.cue, idf)
    names = {term for name in names_asked(asked.cue) for term in tokenize(name)}
    best: Reply | None = None
    for passage in passages:
        if passage.speaker is None:                                      # not a play
            continue
        following = next_passage(passage)
        reading = _read_on(passage, following)
        for start, end, speaker in _places_speaking(reading, passage.speaker_names, asked.name):
            before = _words_before(reading, start, passage.speaker_names)
            if not names.issubset(tokenize(before)):
                continue
            score = best_window_match(match, before)
            span = quoted_sentences(without_directions(reading[start:end]), False)
            if (best is None or score > best.match) and span and span[0] < span[1]:
                best = Reply(*_cited_in(passage, following, start + span[0], start + span[1]), speaker, score)
    return best if best is not None and best.match >= MIN_CUE_MATCH else None


def _words_before(text: str, start: int, full_names: dict[str, str]) -> str:
    """The CUE_WORDS words of `text` before `start`, speakers' shortened labels spelled out ('Cor.': 'Cordelia.')."""
    before = text[max(0, start - 20 * CUE_WORDS): start]
    spelled = _LABEL_LINE.sub(lambda m: full_names.get(m.group(1), m.group(1)) + ".", before)
    return " ".join(spelled.split()[-CUE_WORDS:])


def _read_on(passage: Passage, following: Passage | None) -> str:
    """The passage's text and after it the following passage's, from where the passage's own ends."""
    return passage.text + following.text[_following_start(passage, following):] if following else passage.text


def _following_start(passage: Passage, following: Passage) -> int:
    """Where the text after the passage's own begins in the following passage's (whose text may begin before the
    passage's own ends: each is grown to sentence boundaries from its neighbours)."""
    return following.chunk_span[0] + len(passage.text) - passage.chunk_span[1]


def _cited_in(passage: Passage, following: Passage | None, start: int, end: int) -> tuple[Passage, int, int]:
    """The passage that holds the span start:end of _read_on(passage, following), and the span in its text: the
    following passage where it runs past the passage's end and the following passage holds all of it."""
    if end <= len(passage.text) or following is None:
        return passage, start, min(end, len(passage.text))
    shift = len(passage.text) - _following_start(passage, following)       # following.text[0] in the reading
    if start < shift:
        return passage, start, len(passage.text)
    return following, start - shift, end - shift


def _places_speaking(text: str, full_names: dict[str, str], name: str) -> list[tuple[int, int, str]]:
    """(start, end, speaker's name) of the words the named speaker speaks from each place they start to in the
    text of a play's passage: each speech of theirs, and what follows each stage direction inside one, to the
    speech's end. `full_names` spells out shortened labels ('Cor': 'Cordelia')."""
    spoken = speeches(text, whole_play=False)
    own = labels_named(name, {label for label, *_ in spoken}, full_names)
    places = []
    for label, start, end in spoken:
        if label in own:
            speaker = full_names.get(label, label)
            places.append((start, end, speaker))
            places.extend((m.end(), end, speaker) for m in DIRECTION.finditer(text, start, end))
    return places
