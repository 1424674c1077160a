"""What a 'how tall / how far / how old / how much a year ...' question asks for: an amount of that measure.

'How tall was Daggoo?' is answered by '... six feet five in his socks', not by a sentence about Daggoo that
counts his hands: any number is no answer to it, a length is.

    asked = measure_asked("How tall was Daggoo?")     # Measure('tall', a pattern: a number and a unit of length)
    asked.amount.search("in all the pomp of six feet five in his socks")   -> a match
    measure_asked("How many daughters had he?")       -> None (any number answers a count)

A sentence stating such an amount answers the measure word itself: 'six feet five' says how tall, though it never
says 'tall' (app.answer counts the word as matched).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from app.text_utils import question_proper

# Numbers in words, in three runs (app.answer's any-number pattern reads them too): to twelve and the teens, the
# tens, and the large ones
SMALL_NUMBERS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                 "(?:thir|four|fif|six|seven|eigh|nine)teen")
TENS = "(?:twen|thir|for|fif|six|seven|eigh|nine)ty"
LARGE_NUMBERS = "hundred|thousand|million|dozen|half"
_SPELLED = rf"(?:a|an|{SMALL_NUMBERS}|{TENS}(?:-\w+)?|{LARGE_NUMBERS}|few|several)"
_DIGITS = r"\d+(?:[.,]\d+)?"

# Units of each measure: in words (after any number: 'six feet', 'an hour') and in figures' company only
# ('5 ft', '3.5cm', '12 pt', '80 characters': 'a line' or 'in' alone is no amount).
_LENGTH = ("feet|foot|inch(?:es)?|yards?|miles?|leagues?|fathoms?|cubits?|furlongs?|paces?|"
           "met(?:re|er)s?|kilomet(?:re|er)s?|centimet(?:re|er)s?|millimet(?:re|er)s?",
           "ft|in|m|cm|mm|km|pt|points?|pixels?|px|bp|picas?|em|characters?|chars?")
_TIME = ("years?|months?|weeks?|days?|nights?|hours?|minutes?|seconds?|fortnights?|centur(?:y|ies)|decades?",
         "s|ms|sec|secs|min|mins|h|hrs?|milliseconds?|microseconds?|iterations?")
_WEIGHT = ("pounds?|tons?|tonnes?|ounces?|stones?|grams?|kilograms?|hundredweight|barrels?",
           "lbs?|oz|g|kg|cwt")
_SPEED = ("knots?|miles an hour|miles a day|kilomet(?:re|er)s an hour", "mph|km/h|kph")
_AGE = ("years? old|months? old|years? of age|years?", "")
_MONEY = ("pounds?|shillings?|pence|guineas?|crowns?|ducats?|dollars?|cents?|francs?|marks?|euros?|"
          "a year|per annum|a week|a month", "")

# The question's measure word -> the units of what it asks ('how long': a length or a time).
_MEASURES = {
    "tall": _LENGTH, "high": _LENGTH, "wide": _LENGTH, "deep": _LENGTH, "far": _LENGTH, "thick": _LENGTH,
    "long": (_LENGTH[0] + "|" + _TIME[0], _LENGTH[1] + "|" + _TIME[1]),
    "old": _AGE, "heavy": _WEIGHT, "fast": _SPEED,
}
_HOW_MEASURE = re.compile(r"^\s*how (" + "|".join(_MEASURES) + r")\b", re.I)
_HOW_MUCH_MONEY = re.compile(r"^\s*how much\b.*\b(cost|costs|worth|pay|paid|income|fortune|money|a year|earn|"
                             r"earns|owe|owes|price|rent|dowry|inherit|inherits|inherited)\b", re.I)
_HOW_OFTEN = re.compile(r"^\s*how often\b", re.I)
_FREQUENCY = re.compile(r"\b(times?|once|twice|every|each|daily|weekly|monthly|yearly|annually|hourly|always|"
                        r"never|seldom|rarely)\b", re.I)
_CURRENCY = r"[£$€]\s?\d"


# Measures only an amount answers: 'How old is she?' is not answered by 'An old thing 'twas', while 'How wide are
# boxes by default?' is, by 'until they touch each other'.
_ONLY_AN_AMOUNT_ANSWERS = {"old", "tall", "heavy", "much"}


@dataclass(frozen=True)
class Measure:
    word: str               # the question's measure word: 'tall', 'often', 'much'
    amount: re.Pattern      # what states an amount of it

    @property
    def needs_amount(self) -> bool:
        """Whether only a text stating an amount answers it (an age, a height, a weight, a sum of money)."""
        return self.word in _ONLY_AN_AMOUNT_ANSWERS


def measure_asked(question: str) -> Measure | None:
    """The measure the question asks ('How tall ...?' a length, 'How much a year ...?' a sum, 'How often ...?' a
    frequency), or None when it asks none."""
    question = question_proper(question)
    if _HOW_OFTEN.match(question):
        return Measure("often", _FREQUENCY)
    if _HOW_MUCH_MONEY.match(question):
        return Measure("much", _amount(_MONEY, also=_CURRENCY))
    asked = _HOW_MEASURE.match(question)
    if not asked:
        return None
    word = asked.group(1).lower()
    return Measure(word, _amount(_MEASURES[word]))


def _amount(units: tuple[str, str], also: str | None = None) -> re.Pattern:
    """A number (figures or words, 'six feet five', 'two-and-twenty', 'a hundred') and, at most one word on, a unit:
    any of units[0], or one of units[1] after figures."""
    number = rf"(?:{_DIGITS}|{_SPELLED})(?:[\s-]+(?:and[\s-]+)?(?:{_DIGITS}|{_SPELLED}))*"
    gap = r"(?:\s*|[\s-]+[a-z]+\s+)"
    forms = [rf"\b{number}{gap}(?:{units[0]})\b"]
    if units[1]:
        forms.append(rf"\b{_DIGITS}\s*(?:{units[1]})\b")
    if also:
        forms.append(also)
    return re.compile("|".join(forms), re.I)
