"""Questions a book answers in one known kind of place, whatever words the question shares with it: who a named
person is (where the text introduces them: app.identity) and where a play is set (its 'SCENE:' line:
app.setting). The retriever puts the first chunks of each document that hold such a place first, and the answer
step takes its answer from one when a candidate is one."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from app.identity import introduces, person_asked_about
from app.setting import asks_setting, states_setting


@dataclass(frozen=True)
class Lookup:
    kind: str                              # "identity" | "setting": the answer step's question type
    holds_answer: Callable[[str], bool]    # whether a text (a chunk, a candidate answer) is such a place


def lookup_for(question: str) -> Lookup | None:
    """The place that answers the question, None for questions answered anywhere."""
    person = person_asked_about(question)
    if person:
        return Lookup("identity", partial(introduces, person))
    if asks_setting(question):
        return Lookup("setting", states_setting)
    return None
