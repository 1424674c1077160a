"""Extractive answers: pick the sentence(s) of the top passages that answer the question, or abstain.

No generation: the answer is always text copied from a passage, so it can be highlighted and cited.
Candidates are single sentences and windows of 2-3 adjacent sentences in the top passages. Each is scored by
  coverage   idf-weighted share of the question's content terms that it contains (the main signal; in a play,
             the name of the line's speaker counts half),
  phrase     share of adjacent question-term pairs that appear adjacent in it (word order),
  cue        whether it has what the question type asks for (a name for who, a number for how many, ...),
  rank       a small prior for candidates from higher-ranked passages,
and, if a cross-encoder is given, its relevance logit for the candidate as the answer would show it (grown by
the sentences around it, see _with_context, and led by the speaker's name in a play, see _speech_labels). It reads
the best 10 lexical candidates: the logit joins the first 5's scores, and a candidate it is sure of (logit >= 6,
1 above the choice's) is the answer whatever its lexical rank.
A question that asks for a number, a year or a name only takes candidates that hold one the question lacks
(asked_type_present).
Abstention: the answer is None when the best candidate's coverage (or the reranker's logit) is below a threshold:
if the rarest words of the question appear nowhere near each other in the retrieved text, the corpus is very
unlikely to state the answer, whatever the question is about.
"""
from __future__ import annotations

import html
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Protocol

from app import speakers
from app.kinds import Kind, kind_asked
from app.lookups import lookup_for
from app.measures import LARGE_NUMBERS, SMALL_NUMBERS, TENS, measure_asked
from app.speeches import WordsInChunk
from app.text_utils import (STOPWORDS, as_words, clean_pdf_text, list_lines, question_proper, quoted_words,
                             sentence_spans, split_follow_up_context, stem, stripped_span, tokenize, words)

FOLLOW_UP_CONTEXT_WEIGHT = 0.5  # an earlier turn's word in a resolved follow-up, against the question's own
# Words that say what kind of answer is wanted but are not evidence themselves.
_QUESTION_FILLER = frozenset(stem(w) for w in "many much name named called mean meaning kind type way happen "
                                               "happens tell find give say said s".split())   # s: "Mercutio's"
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_YEAR_OR_DATE = re.compile(_YEAR.pattern + r"|\b(January|February|March|April|May|June|July|August|September|"
                                          r"October|November|December)\b")
_NUMBER = re.compile(rf"\b\d+(?:[.,]\d+)?\b|\b({SMALL_NUMBERS}|{TENS}|{LARGE_NUMBERS}|score)\b", re.I)
_CAPITALISED = re.compile(r"[\"'‘“(\[]*[A-Z][a-z]{2,}")
_DEFINITION = re.compile(r"\b(is|are|means|refers to|denotes|stands for|is called|are called|defined as)\b|:\s")
_NAMING = re.compile(r"\b(called|named|known as|termed|referred to as|the name of)\b")
_PAGE_NUMBER_END = re.compile(r"\d,?$")
_CLOSERS = "\"'’”)]"                    # closing quotes and brackets after a sentence's last mark
_FINISHED = re.compile(r"[.!?][" + re.escape(_CLOSERS) + r"]*$")
_SPEAKER = re.compile(r"[A-Z][A-Z'’ -]*[A-Z]\.")                       # 'MACBETH.', 'FIRST WITCH.'
_NAME_LABEL = re.compile(speakers.NAME + r"\.")                        # 'Romeo.', 'Lady Capulet.' (in a play)
_ENDS_SPEECH = re.compile(r"\[(Exeunt\b|Exit\W*\]$)")                   # '[Exeunt.]', '[Exit.]', not '[Exit Servant.]'
_NEW_SCENE = re.compile(r"(ACT|SCENE)\b")
# A sentence that leans on the one before it. Joining the two in a window is free only after a linking verb ('This
# is called lexical scope.'); an answer keeps the sentence before it after any verb too ('This ensures that ...').
# Free joins after any verb cost a dev question on gnuplot and a LilyPond probe question their answers.
_PRONOUN_SUBJECT = r"(This|These|It|They|Such|He|She) "
_REFERS_BACK = re.compile(_PRONOUN_SUBJECT + r"(is|are|was|were|means|can|may|will|has|have|had|does|do)\b"
                          r"|(That is|In other words|Thus|Hence|Therefore),")
_OPENS_WITH_PRONOUN = re.compile(_PRONOUN_SUBJECT + r"[a-z]+(?:s|ed)\b|" + _REFERS_BACK.pattern)
_OPENING_KEPT = 3         # an answer cut to max_words keeps its first words when only this many would go
_ANTECEDENT_WORDS = 30   # the longest sentence before a pronoun-led answer that it keeps as its antecedent
_LEFT_OUT = re.compile(r"\s+other\s+than\s+[^,;:?.!]*", re.I)   # 'Lear's daughter other than Cordelia': not her
_PLACE = re.compile(r"\b(in|at|from|to|near|under|inside)\s+(the\s+)?[A-Z][a-z]+")


@dataclass
class Passage:
    """A retrieved chunk, in rank order. `page_breaks` optionally maps char offsets to pages for exact citing."""
    id: str
    text: str
    source: str = ""
    page_start: int | None = None
    page_end: int | None = None
    page_label_start: str | None = None
    section: str | None = None
    score: float = 0.0
    page_breaks: list[tuple[int, int, str | None]] = field(default_factory=list)  # (char_offset, page, label)
    doc_id: str = ""
    title: str = ""
    page_label_end: str | None = None
    chunk_span: tuple[int, int] | None = None  # where the retrieved chunk itself lies in `text` (rest: neighbours)
    highlights: list[tuple[int, int]] = field(default_factory=list)  # answer spans in `text`, for the UI
    section_breaks: list[tuple[int, str]] = field(default_factory=list)  # (char_offset, title) of later sections
    speaker: str | None = None  # in a play, who is speaking where `text` begins ("": nobody); None: not a play
    speaker_names: dict[str, str] = field(default_factory=dict)  # its play's shortened labels spelled out ('Cor')
    lower_case_words: frozenset[str] = frozenset()  # the words its document writes in lower case (text_utils)

    def page_at(self, char: int) -> tuple[int | None, str | None]:
        """(physical page, printed label) of the character at `char`."""
        page, label = self.page_start, self.page_label_start
        for offset, p, lab in self.page_breaks:
            if offset > char:
                break
            page, label = p, lab
        return page, label

    def section_at(self, char: int) -> str | None:
        """Title of the section in force at the character at `char`."""
        section = self.section
        for offset, title in self.section_breaks:
            if offset > char:
                break
            section = title
        return section


@dataclass
class Answer:
    text: str
    sentences: list[tuple[int, int, int]]  # (passage_index, char_start, char_end) in Passage.text, for highlighting
    citations: list[dict]                  # {"source", "page", "page_label", "section", "text"}
    confidence: float                      # idf coverage of the question by the answer, 0..1


class SentenceScorer(Protocol):
    def score(self, query: str, passages: list[str]) -> list[float]: ...


class SemanticScorer(Protocol):
    """Cosine similarity (-1..1) of the question to each candidate text, e.g. MiniLM (app.sentence_scorer)."""
    def similarity(self, query: str, texts: list[str]) -> list[float]: ...


@dataclass
class AnswerConfig:
    max_words: int = 60
    top_passages: int = 5       # passages searched for the answer sentence
    max_window: int = 3         # adjacent sentences a candidate may span
    min_coverage: float = 0.5   # abstain below this idf-weighted question coverage (see module docstring)
    min_coverage_with_amount: float = 0.3  # ... or below this where a number (date) question's candidate gives one
                                # the question lacks: dev + 37 probe files, any value from 0.15 to 0.35 answers the
                                # same 2 more questions (Lear's hundred knights, Bulkington's height) and moves nothing
                                # else; all typed questions at 0.3 lose an unanswerable one ('Who is the narrator ...?')
    min_rerank_logit: float = -4.0  # with a reranker: abstain when its best logit is below this as well
    rerank_trust_logit: float = 0.0  # ... and answer despite low coverage when it is at least this: the cross-encoder's
                                     # own boundary (relevance 0.5). Dev set, 4.0 -> 0.0: answer hit .565 -> .581,
                                     # questions wrongly abstained on 12 -> 9 of 62, abstention .875 both
    rerank_candidates: int = 5  # best lexical candidates the cross-encoder rescores (8: no better on the dev set, slower)
    rerank_pool: int = 10       # it reads this many, and the one of them it is sure of (logit >= rerank_overrule_logit
                                # and rerank_overrule_margin above the choice's) is the answer; its logit joins only
                                # the first rerank_candidates' scores (joining all 10-30: dev answer hit .694 -> .645)
    rerank_overrule_logit: float = 5.0   # 6.0 / 1.0 -> 5.0 / 2.0: g09 answered, nothing else moved over the dev set
    rerank_overrule_margin: float = 2.0  # and 28 probe files (422 questions); reading 15 instead of 10 would
                                         # answer 2 more of them for ~20 ms more a question (p50)
    w_phrase: float = 0.15
    w_cue: float = 0.12
    w_rank: float = 0.0         # prior for higher-ranked passages: 0.04 cost 3 answer hits and 3 pages of 62 on the
                                # dev set (retrieval already ranks passages by their best sentence window)
    w_window: float = 0.12      # cost per extra sentence, so a window must add coverage to beat one sentence
    w_rerank: float = 0.12      # since the cross-encoder reads candidates with their context, its logit is worth more:
                                # dev answer hit .597 -> .613 (0.16: the same; 0.08 before)
    w_lead: float = 0.1         # bonus for opening with a rare question term: definitions start with their subject
    semantic_candidates: int = 12   # best lexical candidates the semantic scorer rescores
    w_semantic: float = 0.5         # weight of its cosine (MiniLM cosines of answers span ~0.3..0.8)
    min_semantic: float = 0.25      # abstain when the best candidate is less similar than this to the question
    semantic_trust: float = 0.6     # ... and answer despite low coverage (a paraphrase) when at least this
    min_coverage_floor: float = 0.2  # never answer below this coverage, however similar
    context_words: int | None = None  # the answer grows with the sentences after the best one up to this many
                                      # words (None: up to max_words)


class QuestionMatch:
    """How well a piece of text matches a question: idf-weighted coverage of its content terms and word order.

    Shared by answer extraction and by retrieval's sentence-level rerank, so both judge evidence the same way.
    `idf(term)` should come from the whole corpus (e.g. `BM25Index.term_idf`).
    """

    def __init__(self, question: str, idf: Callable[[str], float]):
        asked, context = split_follow_up_context(question)
        own = [t for t in tokenize(_LEFT_OUT.sub("", asked)) if t not in _QUESTION_FILLER]
        recalled = [t for t in tokenize(context) if t not in _QUESTION_FILLER and t not in own]
        self.terms = own + recalled
        # An earlier turn's words, appended to a follow-up, say what it is about, not what it asks: 'Where was she
        # banished from? (Caliban's mother Sycorax)' is answered by the sentence on her banishment.
        self.weights = {t: max(idf(t), 0.05) * (FOLLOW_UP_CONTEXT_WEIGHT if t in recalled else 1.0)
                        for t in set(self.terms)}
        self.total = sum(self.weights.values()) or 1.0
        # Question pairs at distance 1 or 2, so 'default R prompt' still matches 'default prompt' in the text.
        self.pairs = set().union(*(_pairs(terms) | set(zip(terms, terms[2:])) for terms in (own, recalled)))
        self.n_pairs = max(1, len(self.terms) - 1)

    def coverage(self, terms: set[str], context: set[str] = frozenset(), context_weight: float = 0.5) -> float:
        """Share of the question's weight in `terms`; terms only in `context` (e.g. a section title) count less."""
        return sum(w if t in terms else context_weight * w if t in context else 0.0
                   for t, w in self.weights.items()) / self.total

    def leads(self, opening: list[str]) -> float:
        """1 when the text opens with one of the question's rarer terms (its subject: 'rand(-1) resets ...')."""
        if not self.weights:
            return 0.0
        median = sorted(self.weights.values())[len(self.weights) // 2]
        return 1.0 if any(self.weights.get(t, 0.0) >= median for t in opening) else 0.0

    def phrase(self, sequence: list[str]) -> float:
        """Share of the question's adjacent term pairs that are adjacent in the text too."""
        return min(1.0, len(self.pairs & _pairs(sequence)) / self.n_pairs) if self.pairs else 0.0


def best_window_match(match: QuestionMatch, text: str, section: str | None = None, w_phrase: float = 0.15,
                      window: int = 30) -> float:
    """The best coverage + phrase score of any `window` consecutive index terms of `text` (about two sentences).

    Retrieval uses it to rerank BM25's candidates: a chunk that answers has the question's terms close together,
    where BM25 only counts them anywhere in the chunk. The section title counts as a weaker field.
    """
    context = set(tokenize(section)) if section else set()
    hits = [(i, t) for i, t in enumerate(tokenize(text)) if t in match.weights]
    best = match.coverage(set(), context)
    inside: Counter = Counter()
    lo = 0
    for hi, (i, term) in enumerate(hits):
        inside[term] += 1
        while hits[lo][0] <= i - window:
            inside[hits[lo][1]] -= 1
            lo += 1
        coverage = match.coverage({t for t, n in inside.items() if n > 0}, context)
        if coverage + w_phrase > best:  # only then can word order make this window the best
            run = hits[lo: hi + 1]
            pairs = {(a, b) for (x, a), (y, b) in zip(run, run[1:]) if y - x <= 2}
            best = max(best, coverage + w_phrase * min(1.0, len(match.pairs & pairs) / match.n_pairs))
    return best


@dataclass
class _Candidate:
    passage: int
    start: int
    end: int
    n_sent: int
    text: str
    coverage: float = 0.0
    score: float = 0.0
    similarity: float | None = None
    logit: float | None = None  # the cross-encoder's, when it read this candidate
    looked_up: bool = False     # it is the place a lookup asks for (app.lookups: 'BANQUO, General in ...')
    cue: float = 0.0            # it holds the kind of thing the question asks for (_cue)


def question_type(question: str) -> str:
    """Coarse answer type from the wh-word: who | when | where | number | naming | definition | other."""
    q = question_proper(question).lower().strip()
    if re.match(r"(how (many|much|long|old|big|large|far|often|tall|high|wide|deep|heavy|fast)|"
                r"what (number|percentage|version|size))\b", q) or _ASKS_QUANTITY_OF.search(q):
        return "number"
    if re.match(r"(who|whom|whose)\b", q) or re.search(r"\b(which|what) (character|person|king|lord|man|woman)\b", q):
        return "who"
    if re.search(r"\b(called|known as|termed|named (after|for))\W*$", q):
        return "naming"
    if re.match(r"(when|what year|in what year|what date)\b", q):
        return "when"
    if re.match(r"where\b", q):
        return "where"
    if re.match(r"what (is|are|does|do)\b.*\b(mean|stand for)?\??$", q) and len(q.split()) <= 8:
        return "definition"
    return "other"


_ASKS_NUMBER = re.compile(r"^(how (many|much|old|long ago)|what (number|percentage))\b")
_ASKS_QUANTITY_OF = re.compile(r"^(what|which) (is|was|are|were) the ([a-z]+ )?(number|count|percentage) of\b")
_ASKS_YEAR = re.compile(r"\b(what|which) year\b")
# where the phrase after 'the name of' ends: 'the chaplain OF the chapel', "Antony's wife WHOSE death ...",
# "Cleopatra's flagship AT the battle of Actium"
_THING_ENDS = re.compile(r"\b(?:of|whose|who|whom|that|which|where|when|while|in|at|on|from|to|by|with|for|during|"
                         r"before|after|is|was|are|were|does|did|do|has|had)\b", re.I)
_ASKS_NAME = re.compile(r"\b(what|which) (is|was|are|were) the names? of\b|^what name\b")
# "What is Ishmael's last name?", "What was the Old Shepherd's real name?": the name of a person the question names
# (a first, last or full name stands right beside the one the question gives: 'Fitzwilliam Darcy')
_ASKS_NAMED_PERSONS_NAME = re.compile(r"^(?i:what|which) (?i:is|was) (?:the )?((?:[A-Z][\w.]*\s+)*[A-Z]\w*)['’]s "
                                      r"(?:((?i:first|last|full|christian|given|family|sur))\s*|\w+ )?names?\W*$")


def asked_type_present(question: str, text: str, lower_case: frozenset[str] = frozenset()) -> bool:
    """False when the question asks for a number, a measure, a year or a name and `text` has none that the
    question lacks.

    'What was the name of Ahab's wife?' is not answered by a sentence about his wife that names no one, nor
    'In what year did the ship sail?' by one about its sailing that gives no year, nor 'How heavy was the log?' by
    one that counts the logs (app.measures): the reader asked for that.
    `lower_case`: the words the document writes in lower case, which tells a name opening a sentence (_name_positions).
    """
    proper = question_proper(question)
    q = proper.lower().strip()
    measure = measure_asked(question)
    if _ASKS_YEAR.search(q):
        pattern = _YEAR
    elif measure is not None and measure.needs_amount:    # 'How old is she?': an age, not any number
        pattern = measure.amount
    elif _ASKS_NUMBER.match(q) or _ASKS_QUANTITY_OF.search(q):
        pattern = _NUMBER
    elif _ASKS_NAME.search(q) or _ASKS_NAMED_PERSONS_NAME.match(proper):
        return _names_the_thing_asked(question, text, lower_case)
    else:
        return True
    asked = {w.lower() for w in words(question)}
    counted = _counted_things(q) if pattern is _NUMBER else set()
    return any(m.group(0).lower() not in asked and (not counted or _counts(text, m.end(), counted))
               for m in pattern.finditer(text))


_HOW_MANY = re.compile(r"^how many ((?:\w+ ){0,2}?\w+?)(?= (?:are|is|was|were|do|does|did|can|could|have|has|had|will|"
                       r"would|should|must|of|in|on|at|to|for|there)\b|\W*$)")


def _counted_things(question: str) -> set[str]:
    """The stems of what a 'How many ...?' question counts ('How many states and territories are there?' ->
    states, territories), or none for other questions."""
    asked = _HOW_MANY.match(question)
    if not asked:
        return set()
    return {stem(w) for w in words(asked.group(1)) if w not in STOPWORDS}


def _counts(text: str, end: int, things: set[str], reach: int = 3) -> bool:
    """Whether one of `things` (stems) follows within `reach` words of a number ending at `end`: 'two mighty
    eagles' counts no soldiers."""
    return any(stem(w) in things for w in words(text[end:])[:reach])


def _names_the_thing_asked(question: str, text: str, lower_case: frozenset[str] = frozenset(),
                           near: int = 8) -> bool:
    """Whether `text` has a name the question lacks within `near` words of the thing whose name is asked for ('son'
    in 'the name of Macbeth's eldest son', 'chaplain' in 'the name of the chaplain of the chapel'): a passage about
    Miranda's mother that names her father's dukedom does not name her."""
    name_of = re.split(r"\bnames? of\b", question, maxsplit=1, flags=re.I)
    proper = question_proper(question)
    persons = _ASKS_NAMED_PERSONS_NAME.match(proper)
    if persons:                     # "Ishmael's last name": a name beside Ishmael
        phrase, near = persons.group(1), 1 if persons.group(2) else near
    elif len(name_of) == 2:         # 'the name of THING who/of/at ...'
        phrase = _THING_ENDS.split(name_of[1], maxsplit=1)[0]
    else:                           # 'What name does Viola go by ...?'
        after = re.split(r"^what name\b", proper, flags=re.I)[-1]
        phrase = re.split(r"\bof\b", after, maxsplit=1)[0]
    thing = [w for w in words(phrase) if w not in STOPWORDS and w != "s"]
    tokens = text.split()
    asked = set(words(question))
    kind = thing[-1] if thing else ""       # what is named: 'command' in 'the name of the command that ...'
    names = _name_positions(tokens, asked, lower_case) + _code_name_positions(tokens, question, kind)
    if not thing:
        return bool(names)
    at = [i for i, token in enumerate(tokens) if stem(thing[-1]) in {stem(w) for w in words(token)}]
    if thing[-1] in _KINDS_OF_CODE:     # 'the pause command': the word between article and kind names it
        names += [j - 1 for j in at if j >= 2 and tokens[j - 2].lower() in ("the", "a", "an")
                  and _plain_word(tokens[j - 1], asked)]
    return any(abs(i - j) <= near for i in names for j in at)


# What a manual names in code: a call ('levels()', 'eig (A)'), a dotted or underscored name ('read.table',
# 'file_path_sans_ext'), an option ('--png', '-Wall'); and the kinds of things it names so. An option names only
# an option: '-s' is no answer to 'the name of the command that makes gnuplot wait'.
_CODE_NAME = re.compile(r"[\"'‘“(\[]*(?:[A-Za-z_][\w.]*\(|[A-Za-z]\w+(?:[._]\w+)+|--?[A-Za-z][\w-]*)")
_OPTION = re.compile(r"--?[A-Za-z]")
_KINDS_OF_CODE = frozenset("function command option package variable method operator keyword argument parameter "
                           "macro program library module class setting file directory flag switch".split())
_KINDS_OF_OPTION = frozenset("option argument parameter setting flag switch".split())


def _code_name_positions(tokens: list[str], question: str, kind: str = "") -> list[int]:
    """Indexes of the tokens that name code the question does not write as code: 'levels()' answers 'the function
    that gives the levels', unless the question says 'levels()' itself. An option counts only where no kind is
    asked for or the kind is an option's ('the flag that ...')."""
    options_count = not kind or kind in _KINDS_OF_OPTION
    found = ((i, _CODE_NAME.match(token)) for i, token in enumerate(tokens))
    names = ((i, match.group(0).lstrip("\"'‘“([")) for i, match in found if match)
    return [i for i, name in names if name not in question and (options_count or not _OPTION.match(name))]


def _plain_word(token: str, asked: set[str]) -> bool:
    """Whether a token is one word, not a stopword nor a word of the question: 'pause' in 'The pause command'."""
    found = words(token)
    return len(found) == 1 and found[0] not in STOPWORDS and found[0] not in asked


def names_in(text: str, known: set[str] = frozenset()) -> list[str]:
    """The names `text` gives, in order, each once: capitalised words that do not open a sentence and are neither
    stopwords nor among `known` (any case)."""
    tokens = text.split()
    found = (words(tokens[i])[0] for i in _name_positions(tokens, {w.lower() for w in known}))
    return list(dict.fromkeys(word.capitalize() for word in found))


_ABBREVIATED_TITLES = frozenset("mr mrs ms messrs dr st capt col gen lt sgt rev prof mme mlle".split())
_TITLES = frozenset("mr mrs miss ms sir madam lady lord captain capt king queen prince princess duke duchess earl "
                    "count countess baron colonel col general gen doctor dr father mother brother sister saint st "
                    "master mistress uncle aunt".split())


def _name_positions(tokens: list[str], asked: set[str], lower_case: frozenset[str] = frozenset()) -> list[int]:
    """Indexes of the tokens that are names: capitalised, not opening a sentence, neither a stopword (verse
    capitalises every line: 'and She said'), a title ('Captain' in 'the Captain of this ship'), a word of the
    question nor one its document writes in lower case (`lower_case`). Knowing those words, a word opening a
    sentence can be a name too: in a play every speech opens a sentence, 'CURIO. Feste, the jester, my lord'."""
    return [i for i, token in enumerate(tokens)
            if _CAPITALISED.match(token) and (not _opens_sentence(tokens, i) or _name_opening(token, lower_case))
            and not _is_common_word(words(token)[0], asked, lower_case)]


def _is_common_word(word: str, asked: set[str], lower_case: frozenset[str]) -> bool:
    """Whether a capitalised word is no name: a stopword, a title, a word of the question, or one its document
    also writes in lower case ('the Child, and a Mariner'; a verse line's first word)."""
    return word in STOPWORDS or word in _TITLES or word in asked or word in lower_case


def _name_opening(token: str, lower_case: frozenset[str]) -> bool:
    """Whether a capitalised word that opens a sentence may be a name: its document's lower-case words are known
    (_is_common_word tests it against them), and it is not a word ending in a full stop (a speaker's label,
    'Romeo.', or a one-word sentence)."""
    return bool(lower_case) and not token.rstrip(_CLOSERS).endswith(".")


def _opens_sentence(tokens: list[str], i: int) -> bool:
    """Whether tokens[i] opens a sentence; not after a title's abbreviation ('Mr. Darcy', 'Mrs. Bennet')."""
    if i == 0:
        return True
    before = tokens[i - 1].rstrip(_CLOSERS)
    if before[-1:] == "." and before[:-1].lower() in _ABBREVIATED_TITLES:
        return False
    return before[-1:] in (".", "!", "?") or tokens[i - 1] in ("\"", "“")


def _cue(qtype: str, text: str, asked: set[str] = frozenset(), amount: re.Pattern | None = None,
         kind: Kind | None = None) -> float:
    """1.0 when `text` (as the passage has it, line breaks kept) holds the kind of thing the question type asks
    for, else 0.0. 'Who' asks for a name the question does not give (`asked`, lower case), and not a capital that
    opens a line of verse: 'Who was Caliban's mother?' is answered by '... by Sycorax my mother', not by 'my
    mother brush'd / With raven's feather'. A number question that asks a measure ('How tall ...?') asks for an
    `amount` of it (app.measures), a 'What animal ...?' question a thing of that `kind` (app.kinds). (A lookup's
    question, app.lookups, is cued by its place instead.)"""
    if qtype == "number":
        return 1.0 if (amount or _NUMBER).search(text) else 0.0
    if qtype == "when":
        return 1.0 if _YEAR_OR_DATE.search(text) else 0.0
    if qtype == "who":
        return 1.0 if any(names_in(line, asked) for line in text.splitlines()) else 0.0
    if qtype == "where":
        return 1.0 if _PLACE.search(text) else 0.0
    if qtype == "definition":
        return 1.0 if _DEFINITION.search(text) else 0.0
    if qtype == "naming":
        return 1.0 if _NAMING.search(text) else 0.0
    if kind is not None:
        return 1.0 if kind.named_in(text, asked) else 0.0
    return 0.0


def _split_at_entries(text: str, spans: list[tuple[int, int]], entries: list[tuple[int, int]]
                      ) -> list[tuple[int, int, bool]]:
    """Sentence spans of `text` with each list entry (a line of `entries`) made a sentence of its own.

    (start, end, is_entry) in text order: entries replace the sentences they cut through ('Missing values .... 11'
    is one entry, not two sentences); what a sentence has outside any entry stays a sentence.
    """
    out = [(s, e, True) for s, e in entries]
    for start, end in spans:
        pos = start
        for s, e in entries:
            if s < end and e > pos:
                out.extend(_stripped(text, pos, s))
                pos = max(pos, e)
        out.extend(_stripped(text, pos, end))
    return sorted(out)


def _stripped(text: str, start: int, end: int) -> list[tuple[int, int, bool]]:
    """[(start, end, False)] of text[start:end] without its outer whitespace, or [] when it is blank."""
    piece = text[start:end]
    if not piece.strip():
        return []
    return [(start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip()), False)]


def _is_fragment(text: str) -> bool:
    """Headings, running page headers and speaker tags: too short to answer anything alone."""
    return len(text.split()) < 4


def _window_cost(texts: list[str], w_window: float) -> float:
    """What joining the sentences `texts` into one candidate costs: `w_window` a join, so a window must add coverage.

    A join is free when it finishes an unfinished sentence ('... the command is' + '> q()') or when the next
    sentence refers back with a pronoun subject ('... This is called lexical scope.'); an unfinished sentence
    alone pays half, so the window that finishes it wins.
    """
    unfinished = not _FINISHED.search(texts[0])
    if len(texts) == 1:
        return w_window / 2 if unfinished else 0.0
    free = (unfinished and len(texts) == 2) + sum(bool(_REFERS_BACK.match(text)) for text in texts[1:])
    return w_window * max(0, len(texts) - 1 - free)


def _pairs(terms: list[str]) -> set[tuple[str, str]]:
    return set(zip(terms, terms[1:]))


def _trim_to_words(raw: str, weights: dict[str, float], max_words: int,
                   anchor: tuple[int, int] | None = None) -> tuple[int, int]:
    """Char range of the max_words-word slice of `raw` holding the most question weight, and the `anchor` (the
    char range of the amount a 'how tall' question asks for) whatever else it holds."""
    tokens = [(m.start(), m.end(), {stem(w) for w in words(m.group())}) for m in re.finditer(r"\S+", raw)]
    if len(tokens) <= max_words:
        return 0, len(raw)
    anchor_gain = sum(weights.values()) + 1.0     # more than all the question's words together
    in_anchor = [bool(anchor) and a < anchor[1] and b > anchor[0] for a, b, _ in tokens]
    gains = [sum(weights.get(t, 0.0) for t in toks) + anchor_gain * held
             for (_, _, toks), held in zip(tokens, in_anchor)]
    window = sum(gains[:max_words])
    best, best_i = window, 0
    for i in range(1, len(tokens) - max_words + 1):
        window += gains[i + max_words - 1] - gains[i - 1]
        if window > best:
            best, best_i = window, i
    if best_i == 0:
        return 0, tokens[max_words - 1][1]   # from the sentence's start: its subject ('She is ...') stays
    # Centre the window on the matched words it holds, so the answer reads with context on both sides.
    matched = [i for i in range(best_i, best_i + max_words) if gains[i] > 0] or [best_i]
    slack = max_words - (matched[-1] - matched[0] + 1)
    start = min(max(0, matched[0] - slack // 2), len(tokens) - max_words)
    anchored = [i for i, held in enumerate(in_anchor) if held]
    opening = _opening_before(raw, tokens, start)
    if not anchored or anchored[-1] < opening + max_words:             # the amount asked for stays whatever goes
        start = opening
    return tokens[start][0], tokens[start + max_words - 1][1]


def _opening_before(raw: str, tokens: list[tuple[int, int, set[str]]], start: int) -> int:
    """The index of the token that opens the sentence or line `start` is in, when it is at most _OPENING_KEPT tokens
    back, else `start`: an answer reads 'If one tries to add ...', not 'one tries to add ...' (its last words go
    instead)."""
    for i in range(start, max(start - _OPENING_KEPT, 0) - 1, -1):
        if i == 0 or "\n" in raw[tokens[i - 1][1]:tokens[i][0]] or raw[tokens[i - 1][1] - 1] in ".!?:":
            return i
    return start


def extract_answer(question: str, passages: list[Passage], max_words: int = 60, *,
                   idf: Callable[[str], float] | None = None, reranker: SentenceScorer | None = None,
                   config: AnswerConfig | None = None, semantic: SemanticScorer | None = None,
                   name_section: bool = False) -> Answer | None:
    """The sentence(s) of `passages` (best first) that answer `question`, or None when the evidence is weak.
    With name_section (the reader asked 'In which chapter ...?'), the answer opens with its section's title.

    `idf(term)` should come from the whole corpus (e.g. `BM25Index.term_idf`); without it, idf is estimated
    from the sentences of the given passages. `reranker` (e.g. CrossEncoderReranker) rescores the best candidates;
    `semantic` (MiniLM cosine) rescores them too and adds an abstention signal that survives paraphrase.
    """
    cfg = config or AnswerConfig()
    max_words = max_words or cfg.max_words
    asked, _ = split_follow_up_context(question)
    quote = quoted_words(asked)     # 'Who says "What's in a name?"': the quoted line itself is what to find
    if not passages or not (quote or [t for t in tokenize(question) if t not in _QUESTION_FILLER]):
        return None
    lookup = lookup_for(asked)                # 'Who is Banquo?': where the text says who he is (app.lookups)
    qtype = lookup.kind if lookup else question_type(asked)
    asked_words = {w.lower() for w in words(asked)}
    measure = measure_asked(asked) if qtype == "number" else None    # 'How tall ...?': a length, not any number
    kind = kind_asked(asked) if qtype == "other" else None            # 'What animal ...?': a bear, a dog (app.kinds)

    # Sentences of the top passages, with their cleaned text and term sets.
    sentences: list[tuple[int, int, int, str, set[str]]] = []  # (passage, start, end, clean text, terms)
    listed: set[int] = set()  # entries of a cast list, table of contents or index: each an answer only on its own
    for p_index, passage in enumerate(passages[: cfg.top_passages]):
        spans = _split_at_entries(passage.text, sentence_spans(passage.text), list_lines(passage.text))
        for start, end, is_entry in spans:
            if is_entry:
                listed.add(len(sentences))
            clean = clean_pdf_text(passage.text[start:end])
            sentences.append((p_index, start, end, clean, set(tokenize(clean))))
    if not sentences:
        return None

    if idf is None:
        df = Counter(t for *_, terms in sentences for t in set(terms))
        n = len(sentences)
        idf = lambda t: math.log1p((n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5))  # noqa: E731
    match = QuestionMatch(question, idf)
    speakers, label_rows = _speech_labels(passages, sentences, listed)
    row_at = {(p_index, start): i for i, (p_index, start, *_) in enumerate(sentences)}

    candidates: list[_Candidate] = []
    for i, (p_index, start, _, _, _) in enumerate(sentences):
        terms: set[str] = set()
        speaker = speakers[i].terms if speakers[i] is not None else set()  # counts half
        texts: list[str] = []
        led = f"{speakers[i].label} " if speakers[i] is not None else ""     # whose words: 'CALIBAN. '
        for n_sent in range(1, cfg.max_window + 1):
            j = i + n_sent - 1
            if j >= len(sentences) or sentences[j][0] != p_index or (n_sent > 1 and {i, j} & listed):
                break
            terms |= sentences[j][4]
            texts.append(sentences[j][3])
            text = " ".join(texts)
            short_lookup = lookup is not None and lookup.holds_answer(text)     # 'MARIA, Olivia's Woman.'
            if n_sent == 1 and ((_is_fragment(text) and not short_lookup)
                                or (i in listed and _PAGE_NUMBER_END.search(text))):
                continue  # a contents or index line only says where something is
            if n_sent > 1 and len(text.split()) > max_words:
                break
            cand = _Candidate(p_index, start, sentences[j][2], n_sent, text)
            raw = passages[p_index].text[start:cand.end]
            cand.cue = _cue(qtype, raw, asked_words, measure.amount if measure else None, kind)
            said = measure or kind          # 'six feet five' says how tall, 'a bear' says which animal
            stated = set(tokenize(said.word)) if said and cand.cue else set()
            cand.coverage = match.coverage(terms | stated, speaker)
            phrase = match.phrase(tokenize(text))
            cand.looked_up = lookup is not None and lookup.holds_answer(led + raw)
            cue = 1.0 if cand.looked_up else cand.cue
            cand.score = (cand.coverage + cfg.w_phrase * phrase + cfg.w_cue * cue
                          + cfg.w_lead * match.leads(tokenize(texts[0])[:3])
                          - cfg.w_rank * p_index - _window_cost(texts, cfg.w_window))
            candidates.append(cand)
    candidates = [c for c in candidates if (c.looked_up and lookup.required)       # 'PAULINA, wife to Antigonus'
                  or asked_type_present(asked, c.text, passages[c.passage].lower_case_words)]
    if lookup:      # who a person is, where a play is set: from the place that says it, when a candidate is one
        found = [c for c in candidates if c.looked_up]
        if lookup.required:     # a relative (app.kinship): only a tie answers, one naming them when one does
            candidates = [c for c in found if c.cue] or found       # 'OCTAVIA, sister to Caesar', not 'My brother!'
        else:
            candidates = found or candidates
    if not candidates:
        return None
    candidates.sort(key=lambda c: -c.score)

    best_logit = None
    context_words = min(cfg.context_words or max_words, max_words)
    if reranker is not None:  # it judges each candidate as the reader would get it: with its context
        pool = candidates[: max(cfg.rerank_candidates, cfg.rerank_pool)]
        shown = [(c.passage, *_with_context(passages[c.passage].text, sentences, c, context_words, listed))
                 for c in pool]
        led = [_led_by(_in_passage(speakers[row_at[p, a]]), passages[p].text[a:b]) for p, a, b in shown]
        logits = _distinct_scores(reranker, question, led, cfg.rerank_candidates)
        for cand, logit in zip(pool, logits):
            cand.logit = logit
        top = pool[: cfg.rerank_candidates]
        best_logit = max(c.logit for c in top)
        for cand in top:
            cand.score += cfg.w_rerank * cand.logit
        top.sort(key=lambda c: -c.score)
        candidates[: len(top)] = top

    best_sim = None
    if semantic is not None:
        top = candidates[: cfg.semantic_candidates]
        sims = semantic.similarity(question, [c.text for c in top])
        for cand, sim in zip(top, sims):
            cand.score += cfg.w_semantic * sim
            cand.similarity = sim
        top.sort(key=lambda c: -c.score)
        candidates[: len(top)] = top
        best_sim = candidates[0].similarity

    best = candidates[0]
    if reranker is not None:  # a candidate the cross-encoder is sure of overrules the lexical choice
        sure = max(pool, key=lambda c: c.logit)
        if sure.logit >= cfg.rerank_overrule_logit and \
                (best.logit is None or sure.logit >= best.logit + cfg.rerank_overrule_margin):
            best, best_logit = sure, max(best_logit, sure.logit)
    quoting = [c for c in candidates if quote and quote in as_words(c.text)]
    if quoting:                     # the quoted line, word for word: no weaker evidence may abstain on it
        best = quoting[0]
    elif not best.looked_up and _too_weak(best, best_logit, best_sim, cfg, qtype):  # nor on the place a lookup asks for
        return None

    passage = passages[best.passage]
    first, last = _with_context(passage.text, sentences, best, context_words, listed)
    last = _section_end(passage, best.end, last)
    best_row = row_at[best.passage, best.start]
    speech = speakers[best_row] if speakers[best_row] is not None else label_rows.get(best_row)
    if speech is not None and speech.row is not None and sentences[speech.row][1] == first and \
            speech.label != sentences[speech.row][3]:
        first = sentences[speech.row][2]   # the answer opens with a shortened label ('Cor.'): it is spelled out
    if speech is not None and (not speech.is_speaker or speech.row is not None and sentences[speech.row][1] >= first):
        speech = None             # the label is 'Example:', or the answer opens with its speaker's name already
    label_words = len(speech.label.split()) if speech is not None else 0
    part = passage.section_at(first) if name_section else None
    heading = (part or "").split(",")[-1].split(".")[0].strip().lower()        # 'SCENE III', 'Reading data'
    if part and re.match(rf"[\d.\s]*{re.escape(heading)}", passage.text[first:last], re.I):
        part = None                                                    # the answer opens with the heading itself
    raw = passage.text[first:last]
    amount = measure.amount.search(raw) if measure else None
    lo, hi = _trim_to_words(raw, match.weights, max_words - label_words - len((part or "").split()),
                            amount.span() if amount else None)
    start, end = first + lo, first + hi
    text = _led_by(speech, passage.text[start:end])  # a play's line says who speaks it
    text = f"{part}: {text}" if part else text
    return _cited_answer(passages, best.passage, start, end, text, best.coverage)


def spoken_answer(passages: list[Passage], words: WordsInChunk, chunk_id: str) -> Answer | None:
    """A speaker's last (first) words (app.speeches: where the play has them, whatever words the question shares),
    or a book's, as the answer, led by the speaker's name, from the passage of the chunk `chunk_id` that holds
    them; None when no passage is that chunk's."""
    p_index = next((i for i, p in enumerate(passages) if p.id == chunk_id and p.chunk_span), None)
    if p_index is None:
        return None
    return speech_answer(passages, p_index, *words_in_passage(passages[p_index], words), words.speaker)


def words_in_passage(passage: Passage, words: WordsInChunk) -> tuple[int, int]:
    """The span in the passage's text of `words`, found in the passage's own chunk (the passage may show only a
    part of them: a speech begun before it)."""
    offset = passage.chunk_span[0]
    return max(offset + words.start, 0), min(offset + words.end, len(passage.text))


def speech_answer(passages: list[Passage], p_index: int, start: int, end: int, speaker: str,
                  confidence: float = 1.0) -> Answer:
    """The words passages[p_index].text[start:end] as the answer, led by their speaker's name when there is one."""
    text = clean_pdf_text(passages[p_index].text[start:end])
    return _cited_answer(passages, p_index, start, end, f"{speaker}. {text}" if speaker else text, confidence)


def heading_answer(passages: list[Passage], span: tuple[int, int], heading: str) -> Answer:
    """A part's heading as the answer ('CHAPTER 42. The Whiteness of The Whale'), cited where passages[0] prints
    it (`span`)."""
    return _cited_answer(passages, 0, *span, heading, 1.0)


def _cited_answer(passages: list[Passage], p_index: int, start: int, end: int, text: str,
                  confidence: float) -> Answer:
    """The answer `text`, taken from passages[p_index].text[start:end], with its citation."""
    passage = passages[p_index]
    page, label = passage.page_at(start)
    citation = {"source": passage.source, "page": page, "page_label": label, "section": passage.section_at(start),
                "text": text}
    return Answer(text=text, sentences=[(p_index, start, end)], citations=[citation],
                  confidence=round(confidence, 4))


def _too_weak(best: _Candidate, best_logit: float | None, best_sim: float | None, cfg: AnswerConfig,
              qtype: str = "other") -> bool:
    """Whether the evidence for the best candidate is too weak to answer: too little of the question covered unless
    the cross-encoder or the semantic scorer vouches for a paraphrase, or either of them finds it unrelated. A
    number or a date asked for and given ('How many knights ...?': 'an hundred knights') needs less coverage."""
    reranker_sure = best_logit is not None and best_logit >= cfg.rerank_trust_logit
    semantic_sure = best_sim is not None and best_sim >= cfg.semantic_trust and best.coverage >= cfg.min_coverage_floor
    gives_amount = best.cue and qtype in ("number", "when")
    needed = cfg.min_coverage_with_amount if gives_amount else cfg.min_coverage
    if best.coverage < needed and not (reranker_sure or semantic_sure):  # a paraphrase may be vouched for
        return True
    if best_sim is not None and best_sim < cfg.min_semantic:
        return True
    return best_logit is not None and best_logit < cfg.min_rerank_logit


def _distinct_scores(reranker: SentenceScorer, question: str, texts: list[str], first: int) -> list[float]:
    """The reranker's score of each text, each distinct text scored once (neighbouring candidates and overlapping
    passages often show the reader the same answer); the first `first` texts in a batch of their own.

    The int8 model quantises each batch as a whole, so a logit moves by up to ~0.5 with its batch-mates: the first
    ones, whose logits join their lexical scores, are judged among themselves, whatever else is read.
    """
    scores: dict[str, float] = {}
    for group in (texts[:first], texts[first:]):
        new = list(dict.fromkeys(text for text in group if text not in scores))
        scores.update(zip(new, reranker.score(question, new) if new else []))
    return [scores[text] for text in texts]


@dataclass(frozen=True)
class _Speech:
    """Whose words a sentence is: the label line opening its speech, or the passage's speaker in force."""
    label: str              # 'MACBETH.', 'Romeo.'; also a manual's 'Example:' (its words count, it leads no answer)
    row: int | None         # the label's sentence row; None when the speech began before the passage
    is_speaker: bool        # a play's speaker, who leads an answer from the speech

    @property
    def terms(self) -> set[str]:
        return set(tokenize(self.label))


def _speech_labels(passages: list[Passage], sentences: list[tuple[int, int, int, str, set[str]]],
                   listed: set[int]) -> tuple[list[_Speech | None], dict[int, _Speech]]:
    """For each sentence, the speech it belongs to: the label line opening its paragraph (a speaker's name), if one
    comes before it, or the speaker in force where its passage begins (Passage.speaker); and the label rows' own.

    A play's speech opens with its speaker's name and runs to the next blank line, or on past a paragraph that is
    only a stage direction ('[Exit Servant.]' and Macbeth goes on: 'Is this a dagger which I see before me'); a
    sentence deep inside it says nothing of who speaks it ('This island's mine, by Sycorax my mother' is Caliban's).
    """
    labels: list[_Speech | None] = []
    own: dict[int, _Speech] = {}
    label, in_direction = None, False
    for i, (p_index, start, end, clean, _) in enumerate(sentences):
        passage = passages[p_index]
        new_passage = i == 0 or sentences[i - 1][0] != p_index
        if new_passage:
            label = _Speech(f"{passage.speaker}.", None, True) if passage.speaker else None
        if new_passage or "\n\n" in passage.text[sentences[i - 1][2]: start]:   # a paragraph begins
            after_direction = in_direction and not new_passage and not _ENDS_SPEECH.match(sentences[i - 1][3])
            in_direction = clean.startswith("[")
            if i not in listed and _is_label_line(passage.text, start, end):
                # 'Romeo.' leads a speech in a play after a blank line, not at a passage's start: there it may be a
                # line of the cast list ('Physician.\nFool.\nOswald, steward to Goneril.')
                is_speaker = bool(_SPEAKER.fullmatch(clean) or passage.speaker is not None and not new_passage
                                  and _NAME_LABEL.fullmatch(clean))
                full = passage.speaker_names.get(clean.rstrip(".:"))
                label = own[i] = _Speech(f"{full}." if full else clean, i, is_speaker)
            elif not new_passage and not (in_direction or after_direction) or _NEW_SCENE.match(clean):
                label = None
        labels.append(None if (label is not None and label.row == i) or in_direction else label)
    return labels, own


def _in_passage(speech: _Speech | None) -> _Speech | None:
    """The speech if its label is in the passage: the cross-encoder reads only what the passage shows."""
    return speech if speech is not None and speech.row is not None else None


def _led_by(speech: _Speech | None, raw: str) -> str:
    """The clean text of `raw`, led by its speech's label when there is one."""
    text = clean_pdf_text(raw)
    return text if speech is None else f"{speech.label} {text}"


def _is_label_line(text: str, start: int, end: int) -> bool:
    """text[start:end] is a short line of its own ending in '.' or ':', like a speaker's name ('CALIBAN.', 'Note:')."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start: line_end if line_end >= 0 else len(text)].strip()
    return line == text[start:end].strip() and _is_fragment(line) and line.endswith((".", ":"))


def _with_context(passage_text: str, sentences: list[tuple[int, int, int, str, set[str]]], best: _Candidate,
                  context_words: int, listed: set[int] = frozenset()) -> tuple[int, int]:
    """Char range of the best candidate grown into an answer a reader can use on its own.

    A short label just before it (a speaker tag, a heading, an item name) says whose words or which item they
    are, and an answer opening with a pronoun ('She is the fairies' midwife') keeps the short sentence before it,
    which names her ('O, then, I see Queen Mab hath been with you.'; a long answer is trimmed after), unless a
    blank line parts them (a page break or the end of another speech: a page's last line '206).'
    labels nothing); the sentences right after it usually hold what a sentence restating the question only
    announces ('... you are given the opportunity to save all objects.' -> 'they are written to a file called
    .RData').
    Whole sentences are added while the answer stays within `context_words` words, never those in `listed`.
    """
    rows = [i for i, (p, s, *_) in enumerate(sentences) if p == best.passage]
    first_row = next(i for i in rows if sentences[i][1] == best.start)
    last_row = next(i for i in rows if sentences[i][2] == best.end)
    start, end = best.start, best.end
    if first_row in listed:
        return start, end
    n_words = sum(len(sentences[i][3].split()) for i in range(first_row, last_row + 1))
    before, opening = first_row - 1, first_row
    if before in rows and before not in listed and "\n\n" not in passage_text[sentences[before][2]: start]:
        words_before = len(sentences[before][3].split())
        label = _is_fragment(sentences[before][3]) and n_words + words_before <= context_words
        antecedent = _OPENS_WITH_PRONOUN.match(sentences[first_row][3]) and words_before <= _ANTECEDENT_WORDS
        if label or antecedent:
            start, opening = sentences[before][1], before
            n_words += words_before
    if _is_label_line(passage_text, *sentences[opening][1:3]):      # the answer opens a speech
        start, n_words = _with_the_question_replied_to(passage_text, sentences, rows, opening, start, n_words,
                                                       listed)
    for i in range(last_row + 1, rows[-1] + 1):
        n_words += len(sentences[i][3].split())
        if n_words > context_words or i in listed:
            break
        end = sentences[i][2]
    return start, end


def _section_end(passage: Passage, after: int, end: int) -> int:
    """`end` cut back to the end of the section that holds `after`, so that an answer grown by the sentences after
    it does not run on into the next section ('The tower is 42 metres tall.' into 'Chapter 2. Storms'). Only the
    answer shown is cut: the cross-encoder judged it as grown (which chose better on the dev set)."""
    next_section = next((offset for offset, _ in passage.section_breaks if offset >= after), end)
    if next_section >= end:
        return end
    end = stripped_span(passage.text, after, next_section)[1]
    last_line = passage.text.rfind("\n", after, end) + 1      # a heading above the next one ('ACT I.') goes too
    heading = passage.text[last_line:end]
    if last_line > after and heading[:1].isupper() and _is_fragment(heading) and \
            _FINISHED.search(passage.text[after - 1:last_line].rstrip()):
        end = stripped_span(passage.text, after, last_line)[1]
    return end


def _with_the_question_replied_to(passage_text: str, sentences: list[tuple[int, int, int, str, set[str]]],
                                  rows: list[int], label_row: int, start: int, n_words: int,
                                  listed: set[int]) -> tuple[int, int]:
    """(start, words) of an answer that opens a speech (its label at `label_row`), grown back over the short
    question the speech before ends with, and that speech's label: a reply means little without what it answers
    ('Benvolio. Why, what is Tybalt? Mercutio. More than prince of cats, I can tell you.')."""
    question_row = label_row - 1
    if question_row not in rows or question_row in listed:
        return start, n_words
    question = sentences[question_row][3]
    if not question.rstrip(_CLOSERS + " ").endswith("?") or len(question.split()) > _ANTECEDENT_WORDS:
        return start, n_words
    start, n_words = sentences[question_row][1], n_words + len(question.split())
    asker = question_row - 1
    if asker in rows and _is_label_line(passage_text, *sentences[asker][1:3]) and \
            "\n\n" not in passage_text[sentences[asker][2]: start]:
        start, n_words = sentences[asker][1], n_words + len(sentences[asker][3].split())
    return start, n_words


def highlight(passage_text: str, spans: list[tuple[int, int]], markup: str = "html") -> str:
    """Passage text with each (char_start, char_end) span wrapped in <mark>; html escapes the rest."""
    merged: list[list[int]] = []
    for s, e in sorted((max(0, s), min(len(passage_text), e)) for s, e in spans):
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    esc = html.escape if markup == "html" else (lambda x: x)
    out, pos = [], 0
    for s, e in merged:
        out.append(esc(passage_text[pos:s]))
        out.append("<mark>" + esc(passage_text[s:e]) + "</mark>")
        pos = e
    out.append(esc(passage_text[pos:]))
    return "".join(out)
