"""'What are Romeo's last words?', 'What does Hamlet say first?': a speaker's last (first) words in a play; and
'What is the last line of the play?', 'Who speaks first?', 'What is the first sentence of the novel?', 'How does
the novel end?'; and where to look for 'How does Juliet die?' (near her last words).

They close the speaker's last speech (open the first), which the play marks with the speaker's label ('Romeo.')
and the next label: where they are is known from the labels alone, while the question shares no word with them
('Thus with a kiss I die.') and the speaker's name is on every page of the play. A play's own first (last) words
are its first (last) speech's; a novel's open its first chapter, after the heading, and close its text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from app.speakers import NAME, speeches, without_directions
from app.text_utils import sentence_spans

WORDS_QUOTED = 25        # the answer: the speech's last (first) whole sentences up to this many words, at least one
_TITLES = frozenset("king queen prince princess lord lady sir duke duchess earl count countess friar".split())
ASKED_NAME = r"(?P<name>[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,2})"   # a person a question names
_WHICH = r"(?P<which>(?i:last|final|dying|closing|first|opening))"
_WORDS = r"(?i:words?|lines?|speech|thing)"
_ASKS = [
    # 'What are Romeo's last words before he dies?', 'What is Juliet's first line?'
    re.compile(rf"^\s*(?i:what)\s+(?i:are|were|is|was)\s+{ASKED_NAME}['’]s?\s+{_WHICH}\s+{_WORDS}\b"),
    # 'What are the last words of Romeo?', 'What is the first line spoken by Hamlet?', 'the last thing Lear says'
    re.compile(rf"^\s*(?i:what)\s+(?i:are|were|is|was)\s+(?i:the)\s+{_WHICH}\s+{_WORDS}\s+"
               rf"(?:(?i:of|spoken by|said by|that|which)\s+)?{ASKED_NAME}\b"),
    # 'What does Romeo say last?', 'What does Hamlet say first in the play?'
    re.compile(rf"^\s*(?i:what)\s+(?i:does|did)\s+{ASKED_NAME}\s+(?i:say|speak|utter)\s+{_WHICH}\b"),
]
# 'How does Juliet die?', 'Who kills Tybalt?', 'With what does Juliet kill herself?': in a play, where the person
# speaks last is where they die, mostly (the death's stage direction, '[Dies.]', follows their last speech)
_ASKS_DEATH = [
    re.compile(rf"^\s*(?i:how|when|where|why)\s+(?i:does|did)\s+{ASKED_NAME}\s+(?i:die)\b"),
    re.compile(rf"^\s*(?i:who|what)\s+(?i:kills|killed|murders|murdered|slays|slew|stabs|stabbed|poisons|poisoned)\s+"
               rf"{ASKED_NAME}\s*\?*\s*$"),
    re.compile(rf"^\s*(?i:how|when|where|why|who)\s+(?i:is|was)\s+{ASKED_NAME}\s+"
               r"(?i:killed|murdered|slain|stabbed|poisoned)\b"),
    re.compile(rf"^\s*(?i:how|with\s+what|by\s+what\s+means)\s+(?i:does|did)\s+{ASKED_NAME}\s+(?i:kill)\s+"
               r"(?i:himself|herself|themselves)\b"),
]
_WORK = r"(?P<work>(?i:play|novel|book|story|tale|drama|tragedy|comedy))"
_PLAYS = frozenset("play drama tragedy comedy".split())
_PROSE = frozenset("novel story tale".split())
_ASKS_OWN = [        # the work's own first (last) words, whoever speaks them
    # 'What is the last line of the play?', 'What are the opening words of the novel?'
    re.compile(rf"^\s*(?i:what)\s+(?i:is|are|was|were)\s+(?i:the)\s+{_WHICH}\s+(?i:line|lines|words|sentence|speech)"
               rf"\s+(?i:of|in)\s+(?i:the|this)\s+{_WORK}\b"),
    # 'How does the novel end?', 'How does the play begin?': its last (first) words are where it does
    re.compile(rf"^\s*(?i:how)\s+(?i:does|did)\s+(?i:the|this)\s+{_WORK}\s+"
               r"(?P<which>(?i:end|close|finish|begin|open|start))\s*\?*\s*$"),
]
_ASKS_WHO = [        # who speaks the play's first (last) words
    # 'Who speaks the last lines of the play?', 'Who has the final word?', 'Who speaks first?'
    re.compile(rf"^\s*(?i:who)\s+(?i:speaks|says|has|delivers|gets|utters)\s+(?i:the)\s+{_WHICH}\s+"
               r"(?i:line|lines|words?|speech)\b"),
    re.compile(rf"^\s*(?i:who)\s+(?i:speaks)\s+{_WHICH}\b"),
]
_TEXT_WORD = re.compile(r"\S+")
_WORDS_AFTER = 15        # of what follows a death's last words, up to the next speaker's label
_NEXT_LABEL = re.compile(rf"\n\n{NAME}\.\n")                              # the next speech's label line
_DEATH_SHOWN = re.compile(r"(?i)\b(?:dies|died|dead|death|slain|slay|kill\w*|stab\w*|falls?|fight\w*|murder\w*|"
                          r"poison\w*|drown\w*|hangs?|hanged|wounded)\b")
_READ_CHARS = 4000       # the longest last paragraph of a book read for its last words
_TEXT = re.compile(r"\S")


@dataclass(frozen=True)
class SpeechAsked:
    name: str | None      # as the question writes it: 'Romeo', 'Lady Macbeth', 'King Lear'; None: anyone's
    last: bool            # the last words (else the first)
    who: bool = False     # the question asks who speaks them (a play's question, not a novel's)
    work: str = ""        # the kind of work it names: 'play', 'novel', 'book' ('' none)

    def fits(self, is_play: bool) -> bool:
        """Whether a document (a play or not) can answer: a speaker's words, who speaks, or a play's words only
        from a play; a novel's or a story's only from prose; a book's from either."""
        if self.name is not None or self.who or self.work.lower() in _PLAYS:
            return is_play
        return not is_play if self.work.lower() in _PROSE else True


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
        if match and names_someone(match):
            return SpeechAsked(match.group("name"), _asks_last(match))
    for patterns, who in ((_ASKS_OWN, False), (_ASKS_WHO, True)):
        match = next(filter(None, (pattern.match(question) for pattern in patterns)), None)
        if match:
            return SpeechAsked(None, _asks_last(match), who, match.groupdict().get("work") or "")
    return None


def death_asked(question: str) -> SpeechAsked | None:
    """How or by whom a named person of a play dies, as the last words of theirs to look near; None for other
    questions (their answer is asked of the passages as any question's is)."""
    match = next(filter(None, (pattern.match(question) for pattern in _ASKS_DEATH)), None)
    if match is None or not names_someone(match):
        return None
    return SpeechAsked(match.group("name"), last=True)


def death_place(text: str, start: int, end: int, max_words: int = 60) -> tuple[int, int] | None:
    """Where a play shows the death of the person whose last words are text[start:end]: those words, what follows
    them up to the next speaker (a stage direction: '[Dies.]', '[Falls on a bed and dies.]') and the lines before
    them ('[They fight, and Edgar knocks him down.]'), `max_words` words at most (whole lines before); None when the
    place shows no death or fight (the person dies off stage, and only a report says how)."""
    following = _NEXT_LABEL.search(text, end)
    words_after = list(_TEXT_WORD.finditer(text, end, following.start() if following else len(text)))
    after = words_after[:_WORDS_AFTER][-1].end() if words_after else end
    room = max_words - len(text[start:after].split())
    begin = start
    for line in reversed(text[:start].splitlines(keepends=True)):
        if len(line.split()) > room:
            break
        begin -= len(line)
        room -= len(line.split())
    begin += len(text[begin:start]) - len(text[begin:start].lstrip())
    return (begin, after) if _DEATH_SHOWN.search(text[begin:after]) else None


def names_someone(match: re.Match) -> bool:
    """The matched 'name' is one ('Romeo'), not a capitalised article or possessive ('The', 'His')."""
    return match.group("name").split()[0].lower() not in ("the", "a", "his", "her", "their")


def _asks_last(match: re.Match) -> bool:
    return match.group("which").lower() not in ("first", "opening", "begin", "open", "start")


def spoken_words(text: str, asked: SpeechAsked, full_names: dict[str, str] | None = None) -> SpokenWords | None:
    """The last (first) words the asked speaker speaks in a play's `text`: the last (first) whole sentences of
    their last (first) speech, stage directions aside; None when nobody of that name speaks in it. A label that
    shortens a name ('Cor') counts as the name `full_names` spells out; 'King Lear' is 'Lear' where only he speaks."""
    spoken = speeches(text)
    if asked.name is None:
        own = spoken
    else:
        wanted = labels_named(asked.name, {label for label, *_ in spoken}, full_names or {})
        own = [(label, start, end) for label, start, end in spoken if label in wanted]
    if not own:
        return None
    label, start, end = own[-1] if asked.last else own[0]
    span = quoted_sentences(without_directions(text[start:end]), asked.last)
    return SpokenWords(label, start + span[0], start + span[1]) if span else None


def book_words(text: str, last: bool, first_part: int = 0) -> SpokenWords | None:
    """A book's last words (the last whole sentences of its last paragraph) or first (of the first paragraph after
    the heading line at `first_part`, where its first chapter begins); None for a text without sentences."""
    if last:
        start, end = _last_paragraph(text)
    else:
        line_end = text.find("\n", first_part)
        start, end = _first_paragraph(text, line_end + 1 if line_end >= 0 else len(text))
    span = quoted_sentences(text[start:end], last)
    return SpokenWords("", start + span[0], start + span[1]) if span else None


def _first_paragraph(text: str, after: int) -> tuple[int, int]:
    found = _TEXT.search(text, after)
    start = found.start() if found else len(text)
    end = text.find("\n\n", start)
    return start, end if end >= 0 else len(text)


def _last_paragraph(text: str) -> tuple[int, int]:
    end = len(text.rstrip())
    start = text.rfind("\n\n", max(end - _READ_CHARS, 0), end)
    return (start + 2 if start >= 0 else max(end - _READ_CHARS, 0)), end


def labels_named(name: str, labels: set[str], full_names: dict[str, str]) -> set[str]:
    """The speaker labels among `labels` that stand for `name` as a question writes it: the name itself or the one
    `full_names` spells out for a shortened label ('Cor' for Cordelia); 'King Lear' is 'Lear' where only he speaks."""
    def named(wanted: str) -> set[str]:
        return {label for label in labels if wanted.lower() in (label.lower(), full_names.get(label, "").lower())}
    words = name.split()
    found = named(name)
    if not found and len(words) > 1 and words[0].lower() in _TITLES:      # 'King Lear' labelled 'Lear.'
        found = named(" ".join(words[1:]))
    return found


def quoted_sentences(speech: str, last: bool) -> tuple[int, int] | None:
    """Span of the speech's last (first) whole sentences, WORDS_QUOTED words at most but at least one sentence; of
    a longer sentence, its last (first) whole lines of verse within that many words, at least one."""
    spans = sentence_spans(speech)
    if not spans:
        return None
    start, end = within_words(speech, spans, last)
    if len(speech[start:end].split()) <= WORDS_QUOTED:
        return start, end
    lines, at = [], start
    for line in speech[start:end].split("\n"):
        lines.append((at, at + len(line)))
        at += len(line) + 1
    return within_words(speech, lines, last)


def within_words(text: str, spans: list[tuple[int, int]], last: bool,
                 max_words: int = WORDS_QUOTED) -> tuple[int, int]:
    """The span of the last (first) `spans` of `text` that hold `max_words` words at most, at least one."""
    chosen, count = [], 0
    for start, end in (reversed(spans) if last else spans):
        count += len(text[start:end].split())
        if chosen and count > max_words:
            break
        chosen.append((start, end))
    return min(s for s, _ in chosen), max(e for _, e in chosen)
