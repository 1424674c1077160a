"""What a 'What animal ...? / Which weapon ...? / Which flowers ...?' question asks for: a thing of that kind.

'What animal kills Antigonus?' is answered by '[Exit, pursued by a bear.]', which never says 'animal'; WordNet
knows a bear is one. The nouns of WordNet 3.0 ship in app/data/wordnet_nouns.txt.gz (app.kinds_build makes it
from Debian's wordnet-base; nothing is downloaded).

    asked = kind_asked("What weapon does Macbeth see before him?")     # Kind('weapon')
    asked.named_in("Is this a dagger which I see before me", {"weapon", "macbeth", ...})   -> True
    kind_asked("Which function gives the levels of a factor?")          -> None (not a kind of concrete thing)

A sentence naming such a thing answers the kind word itself, as an amount answers 'how tall' (app.answer counts
the word as matched).
"""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from app.text_utils import STOPWORDS, question_proper

DATA = Path(__file__).parent / "data" / "wordnet_nouns.txt.gz"

# Kinds of concrete things a reader asks to have named, by WordNet's lexicographer files: artifacts, animals, body
# parts, foods, places, natural objects, people, plants, substances.
_CONCRETE_FILES = frozenset({5, 6, 8, 13, 15, 17, 18, 20, 27})
# and the kinds whose first sense WordNet files elsewhere: at the top, among attributes, acts, states or groups
_ALSO_KINDS = frozenset({"animal", "plant", "food", "substance", "colour", "color", "game", "sport", "dance",
                         "illness", "disease", "sickness", "country", "nation"})
_PLACES_AND_PEOPLE = frozenset({15, 18})
_MOST_KINDS_OF = 7000          # 'person', 'artifact', 'object' have more kinds than that: they ask for nothing in kind
_SENSES_READ = 1               # a word is taken in its most frequent sense: 'head' the body part, not '200 head'
# what makes a word that is mostly a verb a noun: 'pursued by a bear', not 'will bear up'
_DETERMINERS = frozenset("a an the this that these those my thy his her its our your their no some any each every "
                         "another one two three four five six seven eight nine ten".split())
_NOT_KINDS = frozenset({"name", "names", "word", "words", "one", "ones", "part", "parts", "kind", "sort", "type"})

# 'What / Which / In which (kind of) ...': the words after it are where the kind is named
_WHICH = re.compile(r"^\s*(?:(?:in|on|at|from|to|into|with|by|for) )?(?:what|which) (?:(?:kind|sort|type) of )?(.*)",
                    re.I | re.S)
# the words that end the phrase naming the kind: 'What weapon DOES ...', 'Which two captains ARE ...'
_PHRASE_ENDS = frozenset("does did do is was are were has had have can could will would shall should may might must "
                         "of".split())


@dataclass(frozen=True)
class Kind:
    word: str           # the question's word for the kind: 'animal', 'flowers'

    def named_in(self, text: str, asked: set[str] = frozenset()) -> bool:
        """Whether `text` names a thing of this kind that the question (`asked`, lower-case words) does not: a word
        for such a thing ('a bear'), or a name set beside the kind's own word ('the god Hercules')."""
        nouns = _wordnet()
        kinds = nouns.senses(self.word)
        tokens = re.findall(r"[a-z]+", text.lower())
        return any(word not in asked and word not in STOPWORDS and nouns.is_a(word, kinds)
                   and (not nouns.mostly_verb(word) or (i > 0 and tokens[i - 1] in _DETERMINERS))
                   for i, word in enumerate(tokens)) or self._names_one_beside_its_word(text, asked)

    def _names_one_beside_its_word(self, text: str, asked: set[str]) -> bool:
        """Whether the kind's own word stands right before a name the question lacks: 'the god Hercules'."""
        singular = self.word[:-1] if self.word.endswith("s") else self.word
        beside = re.compile(rf"\b{re.escape(singular)}s?[ \t]+([A-Z][a-z]+)\b", re.I)
        return any(name[0].isupper() and name.lower() not in asked and name.lower() not in STOPWORDS
                   for name in (match.group(1) for match in beside.finditer(text)))

    def instances(self) -> frozenset[str]:
        """The one-word nouns WordNet has for things of this kind, in their most frequent sense ('bear', 'dog',
        'nightingale' for 'animal'): what retrieval also counts as the kind's word (app.retrieval). Empty for kinds
        of places and people ('city', 'woman'): WordNet's thousands of place and personal names would match any
        passage that names one."""
        nouns = _wordnet()
        return frozenset() if nouns.names_places_or_people(self.word) else nouns.words_for(self.word)


def kind_asked(question: str) -> Kind | None:
    """The kind of thing a 'What/Which NOUN ...?' question asks to have named, or None when it asks no such kind.

    The kind is the first word ('What animal kills ...?') or, after a modifier, the second when the phrase ends
    there ('What navigation instrument does ...?', "Which biblical prophet's story ...?"); 'Which command places
    gnuplot ...?' asks for a command, not for places."""
    which = _WHICH.match(question_proper(question))
    if not which:
        return None
    tokens = ([w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'’-]*", which.group(1))] + ["", "", ""])[:3]
    first, second, after = (re.sub(r"['’]s$", "", w) for w in tokens[:3])
    nouns = _wordnet()
    if first in _NOT_KINDS or first in _PHRASE_ENDS:
        return None
    if nouns.is_concrete_kind(first):
        return Kind(first)
    ends_at_second = tokens[1] != second or after in _PHRASE_ENDS
    if second not in _NOT_KINDS and ends_at_second and nouns.is_concrete_kind(second):
        return Kind(second)
    return None


class WordNetNouns:
    """The reduced WordNet of app.kinds_build: senses of one-word nouns, hypernyms of synsets."""

    def __init__(self, path: Path = DATA):
        self.lexfile: list[int] = []
        self.hypernyms: list[tuple[int, ...]] = []
        self._senses: dict[str, tuple[int, ...]] = {}
        self._irregular: dict[str, str] = {}
        self._mostly_verbs: set[str] = set()
        for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines():
            tag, first, rest = (line.split(" ", 2) + ["", ""])[:3]
            if tag == "S":
                self.lexfile.append(int(first))
                self.hypernyms.append(() if rest == "-" else tuple(int(n) for n in rest.split(",")))
            elif tag == "W":
                self._senses[first] = tuple(int(n) for n in rest.split(","))
            elif tag == "X":
                self._irregular[first] = rest
            elif tag == "V":
                self._mostly_verbs.add(first)
        self._ancestors = lru_cache(maxsize=None)(self._ancestors_of)
        self._kind_sizes: dict[str, int] = {}
        self._words_for: dict[str, frozenset[str]] = {}

    def lemma(self, word: str) -> str | None:
        """The noun `word` is a form of ('mice' -> 'mouse', 'daggers' -> 'dagger'), or None."""
        if word in self._senses:
            return word
        if word in self._irregular:
            return self._irregular[word]
        for ending, replacement in (("ies", "y"), ("ses", "s"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"),
                                    ("es", ""), ("s", "")):
            if word.endswith(ending) and word[: -len(ending)] + replacement in self._senses:
                return word[: -len(ending)] + replacement
        return None

    def senses(self, word: str) -> frozenset[int]:
        lemma = self.lemma(word)
        return frozenset(self._senses[lemma]) if lemma else frozenset()

    def mostly_verb(self, word: str) -> bool:
        """Whether WordNet gives the word more senses as a verb than as a noun ('bear', 'fly')."""
        return self.lemma(word) in self._mostly_verbs

    def is_a(self, word: str, kinds: frozenset[int]) -> bool:
        """Whether one of the word's most frequent senses is one of `kinds` or a kind or instance of one."""
        lemma = self.lemma(word)
        if not lemma or not kinds:
            return False
        return any(sense not in kinds and self._ancestors(sense) & kinds
                   for sense in self._senses[lemma][:_SENSES_READ])

    def words_for(self, kind: str) -> frozenset[str]:
        """The lemmas whose most frequent sense is a kind or an instance of `kind` (cached per kind)."""
        if kind not in self._words_for:
            below = self._below(self.senses(kind))
            self._words_for[kind] = frozenset(lemma for lemma, senses in self._senses.items()
                                              if any(sense in below for sense in senses[:_SENSES_READ]))
        return self._words_for[kind]

    def names_places_or_people(self, kind: str) -> bool:
        lemma = self.lemma(kind)
        return bool(lemma) and self.lexfile[self._senses[lemma][0]] in _PLACES_AND_PEOPLE

    def is_concrete_kind(self, word: str) -> bool:
        lemma = self.lemma(word)
        if not lemma:
            return False
        first = self._senses[lemma][0]
        if self.lexfile[first] not in _CONCRETE_FILES and lemma not in _ALSO_KINDS:
            return False
        return 0 < self._kinds_of(lemma) <= _MOST_KINDS_OF

    def _kinds_of(self, lemma: str) -> int:
        """How many synsets are kinds or instances of the lemma's senses (counted once per lemma)."""
        if lemma not in self._kind_sizes:
            self._kind_sizes[lemma] = len(self._below(frozenset(self._senses[lemma])))
        return self._kind_sizes[lemma]

    def _below(self, synsets: frozenset[int]) -> set[int]:
        """The synsets that are kinds or instances of any of `synsets`, at any depth (not those themselves, unless
        one is below another)."""
        found: set[int] = set()
        todo = [child for synset in synsets for child in self._hyponyms[synset]]
        while todo:
            synset = todo.pop()
            if synset not in found:
                found.add(synset)
                todo.extend(self._hyponyms[synset])
        return found

    @cached_property
    def _hyponyms(self) -> list[list[int]]:
        """Each synset's direct kinds and instances: its hypernym links turned round."""
        below: list[list[int]] = [[] for _ in self.hypernyms]
        for synset, parents in enumerate(self.hypernyms):
            for parent in parents:
                below[parent].append(synset)
        return below

    def _ancestors_of(self, synset: int) -> frozenset[int]:
        found: set[int] = set()
        for parent in self.hypernyms[synset]:
            found.add(parent)
            found |= self._ancestors(parent)
        return frozenset(found)


@lru_cache(maxsize=1)
def _wordnet() -> WordNetNouns:
    return WordNetNouns()
