"""'Where is the play set?': a play states its setting once, in the line after its cast list ('SCENE: A City in
Illyria; and the Sea-coast near it.', 'SCENE.--During the greater part of the Play in Verona'), which shares no
word with the question but 'play' and is outranked by every scene that names a place."""
from __future__ import annotations

import re

_ASKS_SETTING = re.compile(r"^\s*(where|in (which|what) (city|country|town|place|land|kingdom|part of the world))\b"
                           r".*\b(play|story|drama|tragedy|comedy|action)\b.*\b(set|take place|takes place)\b"
                           r"|\bsetting of the (play|story|drama|tragedy|comedy)\b", re.I)
_SETTING_LINE = re.compile(r"(?m)^[ \t]*SCENE[ \t]*(:|\.?[ \t]*(--|—|–))")   # not 'SCENE I. A heath'


def asks_setting(question: str) -> bool:
    """Whether the question asks where the play (story) is set: 'In which city is the play set?', 'What is the
    setting of the play?'."""
    return _ASKS_SETTING.search(question) is not None


def states_setting(text: str) -> bool:
    """Whether `text` holds a play's statement of its setting ('SCENE: ...', 'SCENE.--...')."""
    return "SCENE" in text and _SETTING_LINE.search(text) is not None
