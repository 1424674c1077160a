"""Small text helpers shared by BM25 and answer extraction: tokenising, PDF clean-up, sentence spans."""
from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves
thee thou thy thine hath doth shall may might must also e g i.e eg ie etc
""".split())

_WORD = re.compile(r"[^\W_]+")
_WS = re.compile(r"\s+")


# Forms no suffix rule reaches, each to a word whose stem its kin share: the irregular past of verbs of events
# in the forms that are nothing else ('slew', 'threw'; not 'left', 'saw', 'rose', 'wound', nor 'won' of "won't"),
# and nouns of events and doers ('marriage', 'death', 'survivor'); ways of dying that name no one's hand ('drown',
# 'perish') join 'die'. Not the commonest verbs ('made', 'came', 'thought'): their forms are as common as they.
_WORD_FAMILY = {form: base for base, forms in (
    ("write", "wrote written"), ("speak", "spoke spoken"), ("sell", "sold"), ("buy", "bought"), ("fall", "fallen"),
    ("teach", "taught"), ("catch", "caught"), ("flee", "fled"), ("forgive", "forgave forgiven"),
    ("forget", "forgot forgotten"), ("ride", "rode ridden"), ("sing", "sang sung"), ("slay", "slew slain"),
    ("swim", "swam swum"), ("weep", "wept"), ("break", "broke broken"), ("freeze", "froze frozen"),
    ("steal", "stole stolen"), ("hide", "hid hidden"), ("build", "built"), ("sink", "sank sunk"),
    ("drink", "drank drunk"), ("choose", "chose chosen"), ("drive", "drove driven"), ("eat", "ate eaten"),
    ("fly", "flew flown"), ("strike", "struck stricken"), ("swear", "swore sworn"), ("throw", "threw thrown"),
    ("wear", "wore worn"), ("pay", "paid"), ("sleep", "slept"), ("wake", "woke woken"), ("dig", "dug"),
    ("fight", "fought"), ("lose", "lost"), ("die", "death deaths dead drown drowned drowning drowns perish perished"),
    ("marry", "marriage marriages"), ("wife", "wives"), ("murder", "murderer murderers"),
    ("kill", "killer killers"), ("propose", "proposal proposals"), ("refuse", "refusal"),
    ("arrive", "arrival arrivals"), ("survive", "survival survivor survivors"),
    ("remove", "removal"), ("approve", "approval"), ("dismiss", "dismissal"), ("deny", "denial"),
    ("betray", "betrayal"), ("bury", "burial"), ("depart", "departure"), ("fail", "failure failures"),
    ("close", "closure"), ("expose", "exposure"),
) for form in forms.split()}


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Light suffix stripping (plurals, -ing, -ed, -ly, final -e) so 'plotting', 'plots', 'plotted' -> 'plot', and
    'married', 'marries', 'marrying' -> 'marry'; irregular forms and event nouns join their verb ('slew' -> 'slay',
    'marriage' -> 'marry', 'death' -> 'die'), and -ment nouns theirs ('engagement' -> 'engage')."""
    word = _WORD_FAMILY.get(word, word)
    if len(word) <= 3 or not word.isalpha():
        return word
    if len(word) == 4 and word.endswith("ied") or len(word) == 5 and word.endswith("ying"):
        return word[0] + "ie"  # 'died', 'dying' -> 'die' (as 'dies'); 'lied', 'lying' -> 'lie'
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("sses", "ss"), ("ing", ""), ("edly", ""), ("ed", ""),
                         ("ly", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) + len(repl) >= 3:
            if suffix == "s" and word[-2] in "su":  # 'class', 'status' keep their s
                break
            if suffix == "ly" and word[-3] in "pi":  # 'apply', 'reply', 'family' are not adverbs
                break
            if suffix == "es" and word[-3] not in "sxz" and word[-4:-2] not in ("ch", "sh"):
                word = word[:-1]  # 'values' -> 'value' (then the final-e rule below)
                break
            word = word[: len(word) - len(suffix)] + repl
            if suffix in ("ing", "ed", "edly") and len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # 'plotting' -> 'plott' -> 'plot'
            break
    if len(word) > 8 and word.endswith("ment"):
        word = word[:-4]                  # 'engagement(s)', 'punishment', 'settlement'; not 'comment', 'element'
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]  # 'compute'/'computed'/'computing' all -> 'comput'
    return word


def words(text: str) -> list[str]:
    """Lower-cased alphanumeric words, punctuation dropped."""
    return _WORD.findall(text.lower())



_LOWER_CASE_WORD = re.compile(r"(?<![\w'’-])[a-z][a-z0-9]*")


def lower_case_words(text: str) -> frozenset[str]:
    """The words `text` writes in lower case somewhere: a capitalised word that opens a sentence and is not among
    a document's is a name ('Feste, the jester, my lord'), one that is ('The', 'Good') is an ordinary word."""
    return frozenset(_LOWER_CASE_WORD.findall(text))


_CAPITALISED_WORD = re.compile(r"(?<![\w'’-])[A-Z][A-Za-z0-9]+")


def capitalised_words(text: str) -> frozenset[str]:
    """The words `text` writes capitalised somewhere ('Queequeg', 'MySQL', 'The'): the spellings a name asked about
    may have been meant as."""
    return frozenset(_CAPITALISED_WORD.findall(text))


_EDGE_PUNCTUATION = "\"'‘’“”()[]{},.;:?!"


def names_asked(question: str) -> list[str]:
    """The capitalised words of a question after its first, edge punctuation stripped, each with an index term
    ('Sibelius', 'MySQL', 'TRUE', "Ahab's"): the names it gives. None when most of its words are capitalised
    ('How Do I Delete Variables?', 'WHAT IS THE PROMPT?'): its capitals then say nothing about names."""
    tokens = [token.strip(_EDGE_PUNCTUATION) for token in question.split()[1:]]
    capitalised = [token for token in tokens if token[:1].isupper()]
    if 2 * len(capitalised) > len(tokens):
        return []
    return [token for token in capitalised if tokenize(token)]


# 'Marry, sir', 'marry, he was dead': the old oath (by Mary), no word of marrying; a play has dozens
_OATH = re.compile(r"\bmarry(?=\s*[,!])")


def tokenize(text: str) -> list[str]:
    """Index terms: lower-cased words, stopwords and the oath 'marry,' dropped, lightly stemmed."""
    lowered = text.lower()
    if "marry" in lowered:                  # the substitution alone took a quarter of the time of this function
        lowered = _OATH.sub(" ", lowered)
    return [stem(w) for w in _WORD.findall(lowered) if w not in STOPWORDS]


_FOLLOW_UP_CONTEXT = re.compile(r"\s*\(([^()]*)\)\s*$")


def with_follow_up_context(question: str, words: list[str]) -> str:
    """A follow-up question with the earlier turns' words it leans on appended: 'Where was he from? (chief mate)'."""
    return f"{question.rstrip()} ({' '.join(words)})" if words else question


def split_follow_up_context(question: str) -> tuple[str, str]:
    """(the question as asked, the earlier turns' words with_follow_up_context appended, or '')."""
    match = _FOLLOW_UP_CONTEXT.search(question)
    if not match or not question[: match.start()].rstrip().endswith("?"):
        return question, ""
    return question[: match.start()], match.group(1)


_WH_ONLY = r"(?:who|whom|whose|what|which|why|how)\b"    # not 'when' and 'where', which also open a clause
_WH = rf"(?:{_WH_ONLY}|(?:when|where)\b)"
_AUXILIARY = r"(?:is|was|are|were|do|does|did|can|could|will|would|should|has|have|had)\b"
# A clause or sentence that sets the scene before the question proper: 'In Act 1, who ...?', 'When the soldiers hear
# music, which god ...?', "I'm stuck on 32-bit Windows. What is ...?" (not 'When did ..., ...' nor 'Who, in the end,
# ...?').
_SCENE_SETTING = re.compile(rf"^\s*(?!{_WH_ONLY}|(?:when|where) {_AUXILIARY})[^?]*?[,.;:]\s+(?={_WH})",
                            re.I)


def question_proper(question: str) -> str:
    """The question without a clause that sets its scene, so that its wh-word opens it: 'In Act 1, who murders
    Macduff's son?' -> "who murders Macduff's son?", as it is asked of the text's people."""
    return _SCENE_SETTING.sub("", question, count=1)


_QUOTED = re.compile(r"\"(.+)\"|“(.+)”|‘(.+)’|(?<!\w)'(.+)'(?!\w)")
_APOSTROPHES = re.compile(r"['’‘`]")


def quoted_words(question: str) -> str | None:
    """The words a question quotes ('Who says "What's in a name?"'), as `as_words` gives them, or None when it quotes
    fewer than two words. The outermost quotes count: the quoted line may hold apostrophes ('o' both')."""
    found = _QUOTED.search(question)
    quoted = as_words(next(group for group in found.groups() if group)) if found else ""
    return quoted if len(quoted.split()) >= 2 else None


def as_words(text: str) -> str:
    """Lower-case words of `text` joined by single spaces, apostrophes dropped ("What's" -> "whats"): what stays of a
    line however it is quoted, punctuated or broken into verse lines."""
    return " ".join(_WORD.findall(_APOSTROPHES.sub("", text).lower()))


def collapse_ws(text: str) -> str:
    """Collapse every run of whitespace to one space (how evidence strings are matched)."""
    return _WS.sub(" ", text).strip()


_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")


def clean_pdf_text(text: str) -> str:
    """Join words split by a hyphen at a line end ('pack-\\nages' -> 'packages') and collapse whitespace."""
    return collapse_ws(_HYPHEN_BREAK.sub(r"\1\2", text))


# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) and whitespace, unless the word
# before is a known abbreviation or a single letter ('e.g.', 'P. L'Ecuyer').
# A lower-case start counts when it is a call like 'words("s") returns ...' (manuals open sentences with them).
_END = re.compile(r"[.!?]+[\"'’”)\]]*(?=\s+[\"'‘“(\[]?[A-Z0-9]|\s+[a-z_][\w.]*\(|\s*$)")
_ABBREV = frozenset("e.g i.e etc vs fig figs eq eqs no nos cf mr mrs ms dr st sec ch vol al approx resp p pp "
                     "col capt gen lt sgt rev prof hon sr jr messrs mme mlle".split())
_PROMPT = re.compile(r"^\s*(?:[>$+#]\s|gnuplot>|R>|\d+(?:\.\d+)*\.?\s+\S|[•◦▪*-]\s)")


_CODE_SYMBOLS = frozenset("\"'(){}[]<>=;,$#@\\|&*^~/+")
_OUTPUT_INDEX = re.compile(r"^\s*\[\d+\]")


def _is_code(line: str) -> bool:
    """A line of code or program output rather than prose: '[1] 18', '"sa", "nt", "wa",', 'Levels: act nsw nt'.

    Such lines carry no sentence punctuation, so without this the prose sentence after them would be glued on.
    """
    stripped = line.strip()
    if not stripped or _OUTPUT_INDEX.match(stripped):
        return bool(stripped)
    symbols = sum(c in _CODE_SYMBOLS for c in stripped)
    if symbols and sum(c.isalpha() for c in stripped) < 3 * symbols:
        return True
    line_words = words(stripped)  # five words and not one 'the', 'of', 'is' ...: a listing, not a sentence
    return len(line_words) >= 5 and not STOPWORDS.intersection(line_words) and stripped[-1] not in ".!?,;"


def _is_heading(line: str) -> bool:
    stripped = line.strip()
    return (0 < len(stripped.split()) <= 7 and stripped[0].isupper() and stripped[-1] not in ".,;:!?-—'\""
            and not stripped.endswith(("--", " and", " or", " of", " the", " to", " a", " in")))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of sentences in `text`, found on the raw text so offsets stay exact.

    Besides ordinary punctuation, a line break is a boundary before/after code lines ('> x <- 1', '$ R'),
    numbered or bulleted items, and short heading-like lines that follow a finished sentence.
    """
    cuts = {0, len(text)}
    for m in _END.finditer(text):
        before = text[: m.start() + 1].rsplit(None, 1)[-1].lower().rstrip(".")
        if m.group().startswith(".") and (before in _ABBREV or (len(before) == 1 and before.isalpha())):
            continue
        cuts.add(m.end())
    offset, prev_line = 0, ""
    for line in text.splitlines(keepends=True):
        if line.strip():
            prev_done = not prev_line.strip() or prev_line.rstrip()[-1] in ".!?:"
            if _PROMPT.match(line) or (prev_done and _is_heading(line)) or _PROMPT.match(prev_line):
                cuts.add(offset)
            if _is_heading(line) and prev_done or _PROMPT.match(line):
                cuts.add(offset + len(line.rstrip()))
            if _is_code(prev_line) and line.lstrip()[:1].isupper() and not _is_code(line):
                cuts.add(offset)  # prose resumes after code or its output
            if prev_done and _is_code(line):
                cuts.add(offset)
        else:
            cuts.add(offset)
        offset += len(line)
        prev_line = line
    spans = []
    ordered = sorted(cuts)
    for start, end in zip(ordered, ordered[1:]):
        start, end = stripped_span(text, start, end)
        if end > start:
            spans.append((start, end))
    return spans


def stripped_span(text: str, start: int, end: int) -> tuple[int, int]:
    """(start, end) narrowed past the whitespace at the end of text[start:end], then at its start."""
    while end > start and text[end - 1].isspace():
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return start, end


# Lines of reference lists, which name things without saying anything about them: a cast list ('GONZALO, an
# honest old counsellor'), a table of contents ('Vector arithmetic ....... 9', 'Introduction 21') and a back-of-book
# index ('boxwidth, 65, 67, 136' and its continuation lines '202, 203, 210').
_PAGE_REFS = r"\d+(?:[–-]\d+)?(?:,\s*\d+(?:[–-]\d+)?)*,?"
_LIST_ENTRY = re.compile(
    r"^(?:[A-Z][A-Z'’-]{2,}(?: [A-Z][A-Z'’-]+)*,\s*\S.*"        # NAME, description
    rf"|.*?(?:\s?\.){{3,}}\s*\d+"                                # title . . . . 12
    rf"|[A-Z][A-Za-z ,'’&-]{{0,70}}\s\d{{1,4}}"                  # Title 21
    rf"|[A-Za-z][\w.'’/-]*(?: [A-Za-z][\w.'’/-]*){{0,3}},\s*{_PAGE_REFS}"  # term, 12, 34
    rf"|{_PAGE_REFS})\s*$")


def list_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the lines of `text` in a reference list (two entries or more in a row).

    Such lines name or locate things (a cast list, a table of contents, an index); read together they state
    nothing, so an answer takes at most one of them.
    """
    lines, offset = [], 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            start, end = offset + len(line) - len(line.lstrip()), offset + len(line.rstrip())
            lines.append((start, end, bool(_LIST_ENTRY.match(line.strip()))))
        offset += len(line)
    return [(start, end) for i, (start, end, entry) in enumerate(lines)
            if entry and ((i > 0 and lines[i - 1][2]) or (i + 1 < len(lines) and lines[i + 1][2]))]


def sentence_windows(text: str, target_words: int) -> list[str]:
    """Overlapping runs of whole sentences of `text` of about `target_words` words each (a longer sentence is a run
    of its own), each starting about half-way into the one before; together they cover the text."""
    spans = sentence_spans(text)
    counts = [len(text[start:end].split()) for start, end in spans]
    windows, first = [], 0
    while first < len(spans):
        last, n = first, counts[first]
        while n < target_words and last + 1 < len(spans):
            last += 1
            n += counts[last]
        if last + 1 == len(spans):              # the text's end: the last run reaches back to full length
            while n < target_words and first > 0:
                first -= 1
                n += counts[first]
        windows.append(text[spans[first][0]: spans[last][1]])
        if last + 1 == len(spans):
            break
        step, skipped = first, 0
        while skipped < target_words / 2 and step < last:
            skipped += counts[step]
            step += 1
        first = max(step, first + 1)
    return list(dict.fromkeys(windows))
