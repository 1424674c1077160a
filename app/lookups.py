"""Questions a book answers in one known kind of place, whatever words the question shares with it: who a named
person is (where the text introduces them: app.identity), where a play is set (its 'SCENE:' line: app.setting),
who tells a novel (where the narrator names themself: app.narrator), who wrote it (its byline: app.authorship)
and who a person's relative is (where the text ties the two: app.kinship; only there). The retriever puts the
first chunks of each document that hold such a place first, and the answer step takes its answer from one when a
candidate is one."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from app.authorship import asks_author, names_author, title_words
from app.identity import asks_role, introduces, introduces_role, person_asked_about
from app.kinship import kin_asked, other_than, ties
from app.narrator import asks_narrator, names_narrator
from app.setting import asks_setting, states_setting


@dataclass(frozen=True)
class Lookup:
    kind: str                              # "identity" | "setting" | "who": the answer step's question type
    holds_answer: Callable[[str], bool]    # whether a text (a chunk, a candidate answer) is such a place
    required: bool = False                 # no other text answers: without such a place the book does not say


def lookup_for(question: str) -> Lookup | None:
    """The place that answers the question, None for questions answered anywhere."""
    person = person_asked_about(question)
    if person:
        return Lookup("identity", partial(introduces_role if asks_role(question) else introduces, person))
    if asks_setting(question):
        return Lookup("setting", states_setting)
    if asks_narrator(question):
        return Lookup("who", names_narrator)
    if asks_author(question):
        return Lookup("who", partial(names_author, title_words(question)))
    kin = kin_asked(question)
    if kin:
        return Lookup("who", partial(ties, *kin, other=other_than(question)), required=kin[1] != "spouse")
    return None
