"""(query, passage) pairs made on the fly from a document's text, for the contrastive and distillation losses.

Two kinds of pseudo-query, both taken from the passage itself so the pair is a true match:
  - inverse cloze: a sentence of the passage is the query; with probability `remove_prob` it is cut from the
    passage, so the model must match on meaning rather than on an exact copy;
  - question templates: a heading becomes "What is X?" / "How do I x?", a dictionary headword becomes
    "What does X mean?", so a short question alone lands near the passage that answers it.
Deterministic: the same (text, seed) gives the same pairs. Standard library only; passages are measured in
characters (~4 per cl100k token) so this never needs the tokenizer.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Pair:
    query: str
    passage: str
    kind: str  # "cloze", "heading", "definition"


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[\"'(\[]?[A-Z0-9])")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+]{3,})\s*$")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_DEFINITION = re.compile(r"^([A-Za-z][\w' .-]{0,40}?)\s*(?:\(\S+\))?,?\s+(n|v|a|adj|adv|v\.\s*t|v\.\s*i|pron|prep|interj)\.", re.M)
_HOW_VERBS = {"use": "use", "using": "use", "install": "install", "installing": "install",
              "configure": "configure", "configuring": "configure", "write": "write", "writing": "write",
              "build": "build", "building": "build", "create": "create", "creating": "create", "run": "run",
              "running": "run", "set": "set", "setting": "set", "debug": "debug", "debugging": "debug",
              "add": "add", "adding": "add", "enable": "enable", "enabling": "enable", "read": "read",
              "reading": "read", "test": "test", "testing": "test", "define": "define", "defining": "define",
              "handle": "handle", "handling": "handle", "port": "port", "porting": "port", "submit": "submit",
              "submitting": "submit", "migrate": "migrate", "migrating": "migrate", "call": "call",
              "calling": "call", "extend": "extend", "extending": "extend", "embed": "embed", "embedding": "embed"}


def passages(text: str, passage_tokens: int = 256, rng: random.Random | None = None) -> list[tuple[int, str]]:
    """Cut `text` into ~passage_tokens windows on line boundaries; returns (start char, passage) pairs."""
    size = passage_tokens * CHARS_PER_TOKEN
    start = 0
    if rng and len(text) > 2 * size:  # a random phase, so passages differ between epochs; start on a line
        start = text.find("\n", rng.randrange(size)) + 1
    out = []
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            nl = text.rfind("\n", start + size // 2, end)
            end = nl + 1 if nl > 0 else end
        chunk = text[start:end].strip()
        if len(chunk) >= size // 4:
            out.append((start, chunk))
        start = end
    return out


def sentences(passage: str) -> list[str]:
    """Sentence-like spans of a passage: wrapped prose is re-flowed and split at sentence ends; a span that
    is still too long (verse, code, lists) falls back to its lines. Leading verse/list numbers are dropped."""
    out = []
    for para in re.split(r"\n\s*\n", passage.strip()):
        for sent in _SENTENCE_END.split(re.sub(r"\s*\n\s*", " ", para)):
            out += [sent] if len(sent) <= 300 else para.splitlines()
    out = [re.sub(r"^\d+[.)]?\s+", "", p.strip()) for p in out]
    return [p for p in out if 25 <= len(p) <= 300 and sum(c.isalpha() or c == " " for c in p) >= 0.8 * len(p)]


def headings(passage: str) -> list[str]:
    """Titles found in a passage: reST underlined titles, Markdown '#' titles, bare 'Chapter N' lines."""
    lines = passage.splitlines()
    found = []
    for i, line in enumerate(lines):
        m = _MD_HEADING.match(line)
        if m:
            found.append(m.group(1))
        elif i + 1 < len(lines) and _RST_UNDERLINE.match(lines[i + 1]) and line.strip() \
                and not _RST_UNDERLINE.match(line) and len(lines[i + 1].strip()) >= len(line.strip()) - 2:
            found.append(line.strip())
    return [h for h in found if 3 <= len(h) <= 80 and any(c.isalpha() for c in h)]


def question_for_heading(heading: str, rng: random.Random) -> str:
    """A question a reader might ask that this section answers."""
    h = re.sub(r"[`*_:]+", "", heading).strip().rstrip(".")
    words = h.split()
    if words and words[0].lower() in _HOW_VERBS:
        return f"How do I {' '.join([_HOW_VERBS[words[0].lower()]] + words[1:])}?"
    if words and words[0].lower() in {"how", "what", "why", "when", "where", "which", "who"}:
        return h if h.endswith("?") else h + "?"
    return rng.choice([f"What is {h}?", f"What is {h} about?", f"Tell me about {h}.", f"Explain {h}."])


def definitions(passage: str) -> list[str]:
    """Dictionary headwords defined in a passage ('Crown (kroun), v. t. ...')."""
    return [m.group(1).strip() for m in _DEFINITION.finditer(passage)]


def _remove_once(passage: str, span: str) -> str:
    i = passage.find(span)
    if i < 0:  # the sentence was found in a flattened copy: remove its words' first run
        pattern = r"\s+".join(map(re.escape, span.split()))
        return re.sub(pattern, " ", passage, count=1).strip()
    return (passage[:i] + passage[i + len(span):]).strip()


def make_pairs(text: str, seed: int, n: int | None = None, passage_tokens: int = 256,
               remove_prob: float = 0.5, question_prob: float = 0.5) -> list[Pair]:
    """Up to `n` (query, passage) pairs from one document (one per passage if n is None), deterministic in seed."""
    rng = random.Random(seed)
    chunks = passages(text, passage_tokens, rng)
    if n is not None and len(chunks) > n:
        chunks = sorted(rng.sample(chunks, n))
    pairs = []
    for _, chunk in chunks:
        pair = None
        if rng.random() < question_prob:
            heads, words = headings(chunk), definitions(chunk)
            if words:
                w = rng.choice(words)
                q = rng.choice([f"What does {w} mean?", f"What is {w}?", f"Define {w}.", f"meaning of {w}"])
                pair = Pair(q, chunk, "definition")
            elif heads:
                pair = Pair(question_for_heading(rng.choice(heads), rng), chunk, "heading")
        if pair is None:
            sents = sentences(chunk)
            if not sents:
                continue
            s = rng.choice(sents)
            passage = _remove_once(chunk, s) if rng.random() < remove_prob else chunk
            pair = Pair(s, passage or chunk, "cloze")
        pairs.append(pair)
    return pairs


def pair_batch(docs: list[str], seed: int, per_doc: int = 1, passage_tokens: int = 256) -> list[Pair]:
    """A batch of pairs drawn from several documents; a document's seed mixes the batch seed and its index."""
    out = []
    for i, text in enumerate(docs):
        out += make_pairs(text, seed=seed * 1_000_003 + i, n=per_doc, passage_tokens=passage_tokens)
    return out
