"""Who is speaking where a chunk (or a passage) of a play begins.

A line deep in a long speech ('Thus with a kiss I die.', some forty lines after 'Romeo.') lands in a chunk that
never names its speaker, so neither a question naming him nor the answer to 'Who says ...?' can use that name.
Plays (Project Gutenberg's editions) set each speech under its speaker's name on a line of its own, after a blank
line: 'Romeo.', 'LADY MACBETH.', 'First Citizen.'. The speaker in force at a point is the last such label before
it, unless the scene changed or everyone left the stage since.
"""
from __future__ import annotations

import re
from itertools import accumulate

NAME = r"[A-Z][A-Za-z'’]*(?: [A-Z][A-Za-z'’]*){0,2}"    # a speaker's name as a label gives it: 'Romeo', 'Lady Capulet'
_LABEL = re.compile(rf"(?:^|\n\n)({NAME})\.\n(?=\S)")
_OPENS_UNSPOKEN = re.compile(rf"\s*(?:\[|{NAME}\.\n)")                # a stage direction or a speaker's label
_ENDS_SPEECHES = re.compile(r"\n\n(?:\[Exeunt|\[Exit\.\]|ACT\b|SCENE\b|Act\b|Scene\b)")
_NOT_NAMES = frozenset({"ACT", "SCENE", "Act", "Scene", "Enter", "Exit", "Exeunt", "THE", "The", "PROLOGUE", "EPILOGUE",
                        "FINIS", "Note", "See", "Example", "Examples"})
_SPELLED = re.compile(r"\b[A-Z][a-z]{2,}\b")           # 'Cordelia' in the cast list, 'Edmund' in '[Enter Edmund.]'
DIRECTION = re.compile(r"\[[^\]]*\]")                                 # a stage direction
_ACTION_BEGINS = re.compile(r"(?m)^(?:\[|ACT\b|Act\b|SCENE\b|Scene\b|(?:THE )?PROLOGUE\b|Prologue\b)")
MIN_LABELS = 20  # a document with fewer speaker labels is not a play


def speakers_at_chunk_starts(chunk_texts: list[str]) -> list[str | None]:
    """For each chunk of one document (its chunks in reading order), the label of the speaker in force where it
    begins, "" when nobody is speaking there; None for each when the document is not a play."""
    return speakers_at("".join(chunk_texts), list(accumulate((len(text) for text in chunk_texts[:-1]), initial=0)))


def speakers_at(text: str, positions: list[int]) -> list[str | None]:
    """The speaker in force at each of the (ascending) char positions of `text` ("" for none), or None at each
    when `text` is not a play."""
    events = _events(text)
    if sum(1 for _, name in events if name) < MIN_LABELS:
        return [None] * len(positions)
    found, current, i = [], "", 0
    for position in positions:
        while i < len(events) and events[i][0] < position:
            current = events[i][1]
            i += 1
        found.append(current)
    return found


def speaker_after(text: str, end: int, initial: str) -> str:
    """The speaker in force at char `end` of a play's `text`, given `initial`, the one in force at its start."""
    before = [name for position, name in _events(text) if position < end]
    return before[-1] if before else initial


def without_directions(text: str) -> str:
    """`text` with its stage directions blanked out (spaces: the offsets stay), for counting its spoken words."""
    return DIRECTION.sub(lambda m: " " * len(m.group()), text)


def speaking_at(text: str, position: int, initial: str) -> str:
    """Who speaks the words from `position` of a play's `text`, given `initial`, the speaker in force at its start;
    "" when they open with a speaker's label or a stage direction, or nobody speaks there."""
    if _OPENS_UNSPOKEN.match(text, position):
        return ""
    return speaker_after(text, position, initial)


def speeches(text: str, whole_play: bool = True) -> list[tuple[str, int, int]]:
    """(speaker label, start, end) of each speech of a play's `text`, in reading order: from the line after its
    label to the next label or the end of the speeches (an exit of all, a new act or scene). Stage directions
    inside stay in it ('[Drinks.]', '[Dies.]'). In a `whole_play` speeches begin after the cast list: at the first
    stage direction, act or scene heading or prologue (in a passage of one, a label anywhere begins a speech)."""
    events = _events(text)
    opening = _ACTION_BEGINS.search(text) if whole_play else None  # before it, a cast list's 'LADY MACBETH.' is no
    action = opening.start() if opening else 0                      # speech
    found = []
    for (position, name), (next_position, _) in zip(events, events[1:] + [(len(text), "")]):
        if name and position >= action:
            start = text.index("\n", position) + 1
            found.append((name, start, max(start, next_position)))
    return found


def full_names(text: str) -> dict[str, str]:
    """The speaker labels of a play that shorten a name its cast list or stage directions spell out ('Cor' ->
    'Cordelia', 'Edm' -> 'Edmund' in King Lear), each to the one name it begins; the longer labels choose first, so
    'Corn' takes Cornwall before 'Cor' is read. Labels that are names already, or begin none or several, stay."""
    events = _events(text)
    labels = {name for _, name in events if name and " " not in name}
    first_speech = next((position for position, name in events if name), len(text))
    spelled = set(_SPELLED.findall(text[:first_speech] + " ".join(DIRECTION.findall(text))))
    known = {name.lower() for name in spelled}
    names: dict[str, str] = {}
    for label in sorted(labels - {name for name in labels if name.lower() in known}, key=len, reverse=True):
        begun = [name for name in spelled if name.lower().startswith(label.lower()) and name not in names.values()]
        if len(begun) == 1:
            names[label] = begun[0]
    return names


def _events(text: str) -> list[tuple[int, str]]:
    """(char position, speaker) where a speech begins, and (position, "") where the speeches end."""
    labels = [(m.start(1), m.group(1)) for m in _LABEL.finditer(text) if m.group(1).split()[0] not in _NOT_NAMES]
    return sorted(labels + [(m.start(), "") for m in _ENDS_SPEECHES.finditer(text)])
