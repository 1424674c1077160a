"""Hybrid retrieval over a collection: BM25 + the model's dense embeddings (Chroma), fused by weighted RRF.

    ranked lists   bm25 (lexical, built from store.iter_chunks, cached on disk by collection version)
                   dense (the question embedded by our model, nearest chunk embeddings in Chroma)
                   a sentence encoder's (MiniLM, bge-small) cosine of the question to every chunk (its vector, or
                   its best window of sentences), cached per document: the fallback, whose best other chunks take
                   the places after the reranked top 4; optionally a third fused list
                   minilm rescore (optional: MiniLM's cosine reorders the top fused passages)
    fusion         weighted reciprocal rank fusion (app.fusion)
    passages       each fused chunk grown to sentence boundaries with the neighbouring chunks' text, so an
                   answer sentence cut by a 256-token window boundary is whole again; pages follow the text.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import pickle
import re
import time
from bisect import bisect_right
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache, partial
from itertools import accumulate, islice, zip_longest
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from app.answer import Passage, QuestionMatch, best_window_match, question_type
from app.bm25 import BM25Index
from app.fusion import Fused, reciprocal_rank_fusion
from app.kinds import Kind, kind_asked
from app.lookups import Lookup, lookup_for
from app.sections import (SectionRef, chunks_in_section, section_ref, smallest_kind, title_numbers,
                          without_section_ref)
from app.document_cache import DocumentCache, save_atomically
from app.index_progress import IndexProgress
from app.span_index import SpanIndex
from app.speakers import full_names, speaker_after, speakers_at_chunk_starts
from app.speeches import SpeechAsked, WordsInChunk, book_words, death_asked, speech_asked, spoken_words
from app.text_utils import (as_words, capitalised_words, lower_case_words, names_asked, quoted_words,
                             sentence_windows, split_follow_up_context, tokenize, with_follow_up_context)

logger = logging.getLogger(__name__)
_CACHE_FORMAT = 7
# The index's words are what app.text_utils and app.bm25 make of the text: a change to either (a new stemming
# rule) rebuilds it, or the question's words would no longer meet the index's.
_TOKENS = hashlib.sha1(b"".join(Path(__file__).with_name(name).read_bytes()
                                for name in ("text_utils.py", "bm25.py"))).hexdigest()[:16]
QUOTE_REACH = 300     # characters of the next chunk where a quoted line begun in a chunk is still found
MAX_QUOTING = 5       # a quote found in more chunks than this is too common to put them first
SPELLING_CUTOFF = 0.8  # difflib's ratio from which a word the documents capitalise is offered for a name they lack
_POSSESSIVE = re.compile(r"['’]s?$")
_WORDS_FOUND_KEPT = 256  # documents' first / last words kept per table (each question asks for them twice)
LOOKUP_ROWS = 2       # chunks of a document holding the place that answers a lookup (app.lookups), put first
PAGE_SEPARATOR = "\n\n"  # how ingest joins page texts (ingest.documents.PAGE_SEPARATOR)
_SENTENCE_END = re.compile(r"[.!?][\"'’”)\]]*\s|\n\s*\n")


@dataclass
class RetrievalConfig:
    bm25: bool = True
    dense: bool = False                # our model's question embedding vs the stored chunk embeddings: off by default,
                                       # the shipped checkpoint alone reaches dev hit@5 .435 (BM25 .790, MiniLM .661)
                                       # and fused at weight 0.1 it lowered hit@1 (.645 -> .597, hit@5 .823 -> .839)
    minilm_rescore: bool = False       # MiniLM cosine of the question to the top `rescore_top` fused passages
    encoder_index: str | None = "bge"  # a sentence encoder ("minilm", "bge") over every chunk (cached per document;
                                       # computed once: 30-60 ms a chunk on 2 busy CPU cores for either) as a third
                                       # list fused into every question. Dev, 93 questions (with the novel), full
                                       # engine with the MiniLM fallback for every question: none .537/.829/.739/
                                       # .634/.636, bge .598/.841/.739/.598/.727 (hit@1 +6, hit@5 +1, one more
                                       # abstention, 3 answers fewer). Seventh session, 70 questions, weak-question
                                       # fallback: bge .677/.871/.717/.677/.750 against none .661/.887/.761/.710/1.0
    dense_spans: bool = False          # our model's span memory (app.span_index: each chunk by its best 64-token span)
                                       # as a list fused before the rerank: dev hit@5 .726 alone, but fused into the full
                                       # engine at w_spans 0.3 / 0.5 / 1.0 it costs hit@1, answers and abstentions
                                       # (.629/.839/.629/.875, .613/.823/.629/.750, .645/.806/.629/.750); fused after
                                       # the rerank instead, worse still (abstention .750 at each weight)
    fallback: str | None = "minilm"    # whole-collection lists ("minilm", "bge", "spans", or two joined by "+": their
                                       # best others in turn) for every question (or only those whose lexical evidence
                                       # is weak: weak_match), merged with the reranked lexical list. Dev, keep 4 + 1, hit@5
                                       # (none: .839): spans .855, MiniLM .887, bge-small .839, spans and MiniLM fused
                                       # by RRF .839, no answer or abstention lost; keep 3 + 2: spans .839, MiniLM
                                       # .887, bge .839, MiniLM+spans .903, bge+spans .839, bge+MiniLM .887, each
                                       # losing one abstention (g24) and (all but spans, last measured earlier) one
                                       # answer (r17: it is in the 4th lexical passage). Of the 7 weak questions whose
                                       # evidence is below the lexical top 4, MiniLM ranks it first of the others
                                       # for 4, bge-small for none; scored by windows (encoder_windows) MiniLM for 2,
                                       # bge-small for 0-2
    encoder_windows: int | None = None # an encoder's whole-collection list scores a chunk by its best window of whole
                                       # sentences of about this many words, half overlapping (None: by one vector of
                                       # the whole chunk; MiniLM reads 256 word pieces, so 56% of the dev chunks lose
                                       # their last ~6%). Dev: alone, hit@1/@5 MiniLM .419/.661 -> .419/.742 at 40
                                       # words (abstention .750), bge .435/.677 -> .597/.823; as the fallback, MiniLM
                                       # .887 -> .871 (40, 60, 80), bge .839 -> .887 at 40 but abstention .875
    weak_match: float | None = None    # the fallback joins only questions whose lexical evidence is weak: no retrieved
                                       # sentence window holds this much of the question (best_window_match: idf
                                       # coverage + word order); None: every question. Dev, 93 questions (with the
                                       # novel), MiniLM keep 4 + 1: 0.6 .537/.805/.739/.622/.636, every question
                                       # .537/.829/.739/.634/.636 (n01, n02, n13 retrieved, g12 lost: its evidence
                                       # is the 5th lexical passage). A strong lexical match is no sign of the right
                                       # passage in a novel: "Who is the landlord of the Spouter Inn?" matches "The
                                       # landlord of the Spouter-Inn had recommended us to his cousin" in full
    fallback_keep: int = 4             # ... then the reranked list's first passages stay first
    fallback_passages: int = 1         # and the fallback list's best others follow them
    candidates: int = 50               # depth of each ranked list before fusion
    rrf_k: float = 60.0
    w_bm25: float = 1.0
    w_dense: float = 0.1
    w_encoder: float = 1.0             # the fused sentence-encoder list (encoder_index) and the MiniLM rescore
    w_spans: float = 1.0
    rescore_top: int = 20
    neighbours: bool = True            # grow passages to sentence boundaries from the adjacent chunks
    neighbour_chars: int = 400         # at most this much text taken from each neighbour
    index_section: bool = True         # BM25 sees the chunk's section title too (the passage text does not)
    sentence_rerank: bool = True       # rerank the top fused chunks by their best ~2-sentence window match (app.answer)
    sentence_rerank_top: int = 30
    w_first_stage: float = 1.0         # weight of the fused score (scaled to 0..1) next to the sentence match
    w_span_rerank: float = 0.1         # our span memory's score of each reranked chunk (scaled to 0..1 over them), at
                                       # this weight next to the sentence match; 0: off. Dev (no fallback): hit@1/@5
                                       # .645/.823 -> .661/.839 at 0.1 and 0.2 (.645/.839 at 0.05; 0.3: hit@1 .613),
                                       # answer .645 and abstention 1.000 unchanged

    def fallback_lists(self) -> list[str]:
        """The whole-collection lists of the fallback: `fallback` names them joined by "+" ("spans+minilm")."""
        return self.fallback.split("+") if self.fallback else []

    def uses_span_memory(self) -> bool:
        """Whether some stage reads our model's span memory (app.span_index)."""
        return self.dense_spans or (self.sentence_rerank and ("spans" in self.fallback_lists()
                                                              or self.w_span_rerank > 0))

    def encoder_indexes(self) -> set[str]:
        """The sentence encoders whose whole-collection index (chunk vectors) some stage reads."""
        return ({self.encoder_index} if self.encoder_index else set()) | \
            {name for name in self.fallback_lists() if name != "spans"}


class ChunkTable:
    """Every chunk of a collection in memory: ids, texts, metadata, and (doc_id, chunk_index) -> row."""

    def __init__(self, ids: list[str], texts: list[str], metadatas: list[dict],
                 lower_case: dict[str, frozenset[str]] | None = None):
        self.ids, self.texts, self.metadatas = ids, texts, metadatas
        self.row = {chunk_id: r for r, chunk_id in enumerate(ids)}
        self.by_position = {(m.get("doc_id"), int(m.get("chunk_index", -1))): r for r, m in enumerate(metadatas)}
        self.doc_rows: dict[str, list[int]] = {}
        self._speaker_names: dict[str, dict[str, str]] = {}
        self._lower_case_words: dict[str, frozenset[str]] = dict(lower_case or {})
        self._capitalised_words: dict[str, frozenset[str]] = {}
        self._words_found: dict[tuple, WordsInChunk | None] = {}    # words_spoken's per document: retrieval and
        for r, m in enumerate(metadatas):                            # the answer step both ask it
            self.doc_rows.setdefault(m.get("doc_id", ""), []).append(r)
        for rows in self.doc_rows.values():                            # each document's rows in reading order
            rows.sort(key=lambda r: int(metadatas[r].get("chunk_index", 0)))

    def __len__(self) -> int:
        return len(self.ids)

    def neighbour(self, row: int, step: int) -> int | None:
        """The row of the chunk `step` places after (before, when negative) the one at `row` in its document."""
        meta = self.metadatas[row]
        return self.by_position.get((meta.get("doc_id"), int(meta.get("chunk_index", -1)) + step))

    def ids_of_docs(self, doc_ids) -> set[str]:
        return {self.ids[r] for r in self.rows_of(doc_ids)}

    def rows_of(self, doc_ids=None, rows=None) -> list[int] | None:
        """The rows a search may return: `rows` when given, else the rows of `doc_ids` (None: every row)."""
        if rows is not None:
            return list(rows)
        return [r for d in doc_ids for r in self.doc_rows.get(d, [])] if doc_ids is not None else None

    def documents_in_reading_order(self, doc_ids=None, rows=None) -> Iterator[list[int]]:
        """Each document's rows (of `doc_ids`, None: every document) in reading order, only those among `rows`
        when given."""
        allowed = set(rows) if rows is not None else None
        for doc_id in sorted(doc_ids or self.doc_rows):
            doc_rows = self.doc_rows.get(doc_id, [])
            yield doc_rows if allowed is None else [r for r in doc_rows if r in allowed]

    def rows_in_section(self, ref: SectionRef, doc_ids=None) -> list[int]:
        """The rows of the part of a book that `ref` names (app.sections), in each of `doc_ids` (None: every
        document) that has that part: the chunks whose section in force, or a section beginning inside them, lies
        in it."""
        rows = []
        for doc_rows in self.documents_in_reading_order(doc_ids):
            rows += [doc_rows[i] for i in chunks_in_section(ref, [self.section_titles(r) for r in doc_rows])]
        return rows

    def rows_holding(self, holds: Callable[[str], bool], doc_ids=None, rows=None) -> list[int]:
        """The first LOOKUP_ROWS rows of each document (of `doc_ids`, or among `rows`) whose text `holds` what is
        looked for (app.lookups), in reading order: a book introduces its people where they first appear, and a
        play states its setting once, after its cast list."""
        found = []
        for doc_rows in self.documents_in_reading_order(doc_ids, rows):
            found += islice((r for r in doc_rows if holds(self.texts[r])), LOOKUP_ROWS)
        return found

    def section_titles(self, row: int) -> list[str]:
        """Titles of the sections a chunk holds: the one in force where it begins, then those beginning inside it."""
        return self._section_titles[row]

    @cached_property
    def _section_titles(self) -> list[list[str]]:
        titles = []
        for meta in self.metadatas:
            inner = [title for _, title in json.loads(meta.get("inner_sections") or "[]")]
            titles.append([title for title in [meta.get("section") or ""] + inner if title])
        return titles

    def speaker_names(self, doc_id: str) -> dict[str, str]:
        """A play's shortened speaker labels spelled out ('Cor' -> 'Cordelia'; app.speakers.full_names)."""
        if doc_id not in self._speaker_names:
            self._speaker_names[doc_id] = full_names("".join(self.texts[r] for r in self.doc_rows.get(doc_id, [])))
        return self._speaker_names[doc_id]

    def words_spoken(self, asked: SpeechAsked, doc_ids=None, rows=None,
                     ranked_docs: Sequence[str] = ()) -> WordsInChunk | None:
        """Where a document (of `doc_ids`, within `rows`) has the asked first (last) words (app.speeches): the
        first document that fits the question (a play for a speaker's words) and has them, those of `ranked_docs`
        (the documents of the retrieved passages, best first) before the others."""
        documents = {self.metadatas[doc_rows[0]].get("doc_id", ""): doc_rows
                     for doc_rows in self.documents_in_reading_order(doc_ids, rows) if doc_rows}
        for doc_id in sorted(documents, key=lambda d: ranked_docs.index(d) if d in ranked_docs else len(ranked_docs)):
            key = (asked, tuple(documents[doc_id]))
            if key not in self._words_found:
                if len(self._words_found) >= _WORDS_FOUND_KEPT:
                    self._words_found.clear()
                self._words_found[key] = self._words_in_document(doc_id, documents[doc_id], asked)
            if self._words_found[key] is not None:
                return self._words_found[key]
        return None

    def _words_in_document(self, doc_id: str, doc_rows: list[int], asked: SpeechAsked) -> WordsInChunk | None:
        """Where the document (its `doc_rows`) has the asked first (last) words; None when it has none or does
        not fit the question."""
        is_play = self.metadatas[doc_rows[0]].get("speaker") is not None
        if not asked.fits(is_play):
            return None
        texts = [self.texts[r] for r in doc_rows]
        spoken = spoken_words("".join(texts), asked, self.speaker_names(doc_id)) if is_play else \
            book_words("".join(texts), asked.last, self._first_part_offset(doc_rows))
        if spoken is None:
            return None
        starts = list(accumulate((len(text) for text in texts[:-1]), initial=0))
        index = bisect_right(starts, (spoken.end - 1) if asked.last else spoken.start) - 1
        label = self.speaker_names(doc_id).get(spoken.label, spoken.label) if spoken.label else ""
        return WordsInChunk(doc_rows[index], spoken.start - starts[index], spoken.end - starts[index], label)

    def _first_part_offset(self, doc_rows: list[int]) -> int:
        """Where the document's first smallest numbered part (its first chapter) begins in its text (the rows
        joined): its heading, in the first chunk that holds that part; 0 when it has none."""
        numbered = [[title_numbers(title) for title in self.section_titles(row)] for row in doc_rows]
        smallest = smallest_kind([numbers for chunk in numbered for numbers in chunk])
        offset = 0
        for row, chunk in zip(doc_rows, numbered):
            for title, numbers in zip(self.section_titles(row), chunk):
                if smallest in numbers:
                    return offset + max(self.texts[row].find(title), 0)
            offset += len(self.texts[row])
        return 0

    def lower_case_words(self, doc_id: str) -> frozenset[str]:
        """The words a document writes in lower case somewhere (app.text_utils.lower_case_words), computed once."""
        return self._words_of(doc_id, self._lower_case_words, lower_case_words)

    def capitalised_words(self, doc_id: str) -> frozenset[str]:
        """The words a document writes capitalised somewhere (app.text_utils.capitalised_words), computed once."""
        return self._words_of(doc_id, self._capitalised_words, capitalised_words)

    def _words_of(self, doc_id: str, computed: dict[str, frozenset[str]],
                  words_in: Callable[[str], frozenset[str]]) -> frozenset[str]:
        if doc_id not in computed:
            computed[doc_id] = words_in(" ".join(self.texts[r] for r in self.doc_rows.get(doc_id, [])))
        return computed[doc_id]

    @cached_property
    def words(self) -> list[str]:
        """Each chunk's text as `as_words` gives it, run on into the next chunk's first words (a quoted line may
        cross the cut): where a quoted line is looked for."""
        def head_of_next(row: int) -> str:
            after = self.neighbour(row, 1)
            return self.texts[after][:QUOTE_REACH] if after is not None else ""
        return [as_words(text + " " + head_of_next(row)) for row, text in enumerate(self.texts)]

    def rows_quoting(self, quote: str, doc_ids=None, rows=None) -> list[int]:
        """Rows whose words hold `quote` (as `as_words` gives it), in document order, optionally of some documents
        or among some rows."""
        return [r for doc_rows in self.documents_in_reading_order(doc_ids, rows) for r in doc_rows
                if quote in self.words[r]]

    def note_speakers(self) -> None:
        """Each chunk of a play notes in its metadata the speaker in force where it begins ("speaker": the name
        spelled out, "" when nobody is speaking); chunks of other documents note nothing."""
        for doc_id, rows in self.doc_rows.items():
            speakers = speakers_at_chunk_starts([self.texts[r] for r in rows])
            if speakers and speakers[0] is not None:
                names = self.speaker_names(doc_id)
                for row, speaker in zip(rows, speakers):
                    self.metadatas[row]["speaker"] = names.get(speaker, speaker)


def kind_stand_ins(question: str) -> dict[str, frozenset[str]] | None:
    """For 'What animal ...?': the index terms that count as the word 'animal' in a ranking ('bear', 'dog', ...;
    app.kinds), or None when the question asks for no kind of thing."""
    asked = split_follow_up_context(question)[0]
    kind = kind_asked(asked) if question_type(asked) == "other" else None     # 'Which woman ...?' asks who
    return _terms_for_kind(kind.word) if kind and kind.instances() else None


@lru_cache(maxsize=64)
def _terms_for_kind(word: str) -> dict[str, frozenset[str]]:
    things = frozenset(term for thing in Kind(word).instances() for term in tokenize(thing))
    return {term: things for term in tokenize(word)}


def cache_key(location: str, collection: str) -> str:
    return hashlib.sha256(f"{location}\0{collection}".encode()).hexdigest()[:16]


def default_cache_dir(store) -> Path:
    """Next to an embedded DB (<db>/.qa-cache); for a server, the per-user cache directory."""
    location = str(getattr(store, "location", "") or "")
    if location and Path(location).is_dir():
        return Path(location) / ".qa-cache"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nonattn-qa" / "qa-cache"


def chunk_heading(meta: dict) -> str:
    """What a chunk's text does not say but its reader knows: its section title, and in a play who is speaking."""
    return " ".join(part for part in (meta.get("section"), meta.get("speaker")) if part)


def load_lexical_index(store, collection: str, cache_dir: Path | None, index_section: bool = True,
                       cache_required: bool = False) -> tuple[ChunkTable, BM25Index, str]:
    """The chunk table and BM25 index of a collection, from the on-disk cache when its version matches (saved
    there otherwise; `cache_required`: see document_cache.save_atomically)."""
    version = str(store.version(collection))
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"{cache_key(str(getattr(store, 'location', '')), collection)}.lexical.pkl"
        if path.is_file():
            try:
                with open(path, "rb") as f:
                    state = pickle.load(f)
                if (state.get("format"), state.get("tokens"), state.get("version"), state.get("index_section")) == \
                        (_CACHE_FORMAT, _TOKENS, version, index_section):
                    table = ChunkTable(state["ids"], state["texts"], state["metadatas"], state.get("lower_case"))
                    return table, state["bm25"], version
            except Exception:  # a corrupt or foreign cache file is rebuilt, never fatal
                pass
    ids, texts, metadatas = [], [], []
    for chunk in store.iter_chunks(collection):
        ids.append(chunk.id)
        texts.append(chunk.text)
        metadatas.append(dict(chunk.metadata))
    table = ChunkTable(ids, texts, metadatas)
    table.note_speakers()                  # a play's chunk deep in a speech: whose words it holds
    lower_case = {doc_id: table.lower_case_words(doc_id) for doc_id in table.doc_rows}  # cached, not per question
    index_texts = [chunk_heading(m) + "\n" + t if index_section else t for t, m in zip(texts, metadatas)]
    bm25 = BM25Index.build(index_texts, ids)
    bm25.search("warm up")  # compiles the postings, so they are pickled compiled
    if path is not None:
        state = {"format": _CACHE_FORMAT, "tokens": _TOKENS, "version": version, "index_section": index_section,
                 "ids": ids, "texts": texts, "metadatas": metadatas, "bm25": bm25, "lower_case": lower_case}
        save_atomically(path, lambda f: pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL), cache_required)
    return table, bm25, version


def window_vectors(chunk_texts: list[str], encoder, window_words: int | None) -> dict[str, np.ndarray]:
    """A sentence encoder's vectors of one document's chunks as SpanIndex arrays: of each chunk's windows of about
    `window_words` words (app.text_utils.sentence_windows), or of each chunk whole (None)."""
    windows, owners = [], []
    for position, text in enumerate(chunk_texts):
        pieces = sentence_windows(text, window_words) if window_words else [text]
        windows += pieces
        owners += [position] * len(pieces)
    return {"spans": encoder.encode(windows, batch_size=encoder.chunk_batch_size, cache=False),
            "owners": np.asarray(owners, dtype=np.int32)}


def encoder_index(table: ChunkTable, encoder, window_words: int | None, cache: DocumentCache | None = None,
                  progress: Callable[[int, int], None] | None = None) -> SpanIndex:
    """A sentence encoder's windows of every chunk-table row, each document's from `cache` where it was encoded
    before; a chunk scores as its best window. `progress(documents done, documents in all)`."""
    return SpanIndex.from_documents(table, partial(window_vectors, encoder=encoder, window_words=window_words),
                                    encoder.dim, cache, progress)


class HybridRetriever:
    """question -> passages (best first), fusing the ranked lists switched on in RetrievalConfig."""

    def __init__(self, store, collection: str, config: RetrievalConfig | None = None, model=None, tokenizer=None,
                 encoders: dict | None = None, cache_dir: Path | None = None, cache_required: bool = False,
                 progress: IndexProgress | None = None):
        """`cache_required`: a cache file that cannot be written is an error (app.document_cache.CacheWriteError),
        not skipped. `progress(index, documents done, documents in all)` while the indexes load (app.index_progress)."""
        self.store, self.collection = store, collection
        self.config = config or RetrievalConfig()
        self.model, self.tokenizer = model, tokenizer
        self.encoders = encoders or {}     # name ("minilm", "bge") -> app.sentence_scorer.SentenceEncoder
        self.cache_dir, self.cache_required = cache_dir, cache_required
        self.table, self.bm25, self.version = load_lexical_index(store, collection, cache_dir,
                                                                 self.config.index_section, cache_required)
        self._encoder_indexes: dict[tuple[str, int | None], SpanIndex] = {}   # by (encoder, encoder_windows)
        self._span_index = None
        self._last_span_query: tuple[str, np.ndarray] | None = None
        self.load_optional_indexes(progress)

    def load_optional_indexes(self, progress: IndexProgress | None = None) -> None:
        """Load the whole-collection indexes the config asks for (encoders' chunk vectors, span memory), drop those
        it does not; `progress(index, documents done, documents in all)` as each loads."""
        def progress_of(index: str) -> Callable[[int, int], None] | None:
            return partial(progress, index) if progress is not None else None

        words = self.config.encoder_windows
        wanted = {(name, words) for name in self.config.encoder_indexes() if name in self.encoders}
        self._encoder_indexes = {key: self._encoder_indexes[key] if key in self._encoder_indexes
                                 else self._load_encoder_index(*key, progress_of(f"{key[0]} vectors"))
                                 for key in wanted}
        if not (self.config.uses_span_memory() and self.model is not None):
            self._span_index = None
        elif self._span_index is None:
            self._span_index = self._load_span_index(progress_of("span memory"))

    # ---- ranked lists --------------------------------------------------------------------------------------
    def idf(self, doc_ids=None):
        """term -> idf over the chunks of `doc_ids` (None: the whole collection), for every stage that weighs a
        question's words: a question asked within documents is judged the same whatever else the collection holds."""
        return self.bm25.idf_within(self.table.ids_of_docs(doc_ids) if doc_ids is not None else None)

    def unmentioned_names(self, question: str, doc_ids=None) -> list[str]:
        """The names the question gives (capitalised words after its first) that the documents searched never
        mention: asked of LilyPond's manual, 'Which Sibelius plugin exports scores to LilyPond?' is about something
        the manual does not hold. A follow-up's recalled words are left out (they came from the documents). A name's
        possessive 's is no word of it: every document mentions 's."""
        allowed = self.table.ids_of_docs(doc_ids) if doc_ids is not None else None
        asked = split_follow_up_context(question)[0]
        return [name for name in names_asked(asked) if not self.bm25.mentions(_POSSESSIVE.sub("", name), allowed)]

    def spellings_meant(self, names: list[str], doc_ids=None) -> dict[str, str]:
        """Of `names`, names the documents searched never mention, each that a word they capitalise is spelled
        close enough to be a typo for, to that word ('Quequeg' -> 'Queequeg')."""
        if not names:
            return {}
        words = {word for doc_id in (self.table.doc_rows if doc_ids is None else doc_ids)
                 for word in self.table.capitalised_words(doc_id)}
        spellings: dict[str, str] = {}
        for word in sorted(words, key=lambda w: (w.isupper(), w)):  # 'Ishmael' as written, not the label 'ISHMAEL.'
            spellings.setdefault(word.lower(), word)
        meant = {}
        for name in names:
            close = difflib.get_close_matches(_POSSESSIVE.sub("", name).lower(), spellings, n=1,
                                              cutoff=SPELLING_CUTOFF)
            if close:
                meant[name] = spellings[close[0]]
        return meant

    def bm25_ranking(self, question: str, n: int, doc_ids=None, rows=None) -> list[str]:
        scope = self.table.rows_of(doc_ids, rows)
        allowed = {self.table.ids[r] for r in scope} if scope is not None else None
        return [chunk_id for chunk_id, _ in self.bm25.search(question, n, allowed_ids=allowed,
                                                              stand_ins=kind_stand_ins(question))]

    def dense_ranking(self, question: str, n: int, doc_ids=None, rows=None) -> list[str]:
        if rows is not None:                           # a part of a book: its documents searched, its chunks kept
            doc_ids = sorted({self.table.metadatas[r].get("doc_id", "") for r in rows})
        searchable = self._dense_searchable(doc_ids)
        if searchable is not None and not searchable:
            return []
        vector = self.model.embed_texts([self.tokenizer.encode(question)])[0]
        depth = n if rows is None else sum(len(self.table.doc_rows.get(d, [])) for d in searchable)
        hits = self.store.query(self.collection, vector.tolist(), depth,
                                doc_ids=sorted(searchable) if searchable is not None else None)
        kept = {self.table.ids[r] for r in rows} if rows is not None else None
        return [hit.id for hit in hits if kept is None or hit.id in kept][:n]

    def _dense_searchable(self, doc_ids) -> set[str] | None:
        """The documents a dense search may look at (None: all): those asked for that this model encoded."""
        own = self._documents_of_this_model
        if own is None:
            return set(doc_ids) if doc_ids else None
        return own & set(doc_ids) if doc_ids else own

    @cached_property
    def _model_fingerprint(self) -> str:
        """NonAttnLM.fingerprint of the model, computed once (it reads every weight)."""
        return self.model.fingerprint()

    @cached_property
    def _documents_of_this_model(self) -> set[str] | None:
        """Documents whose records name this model (None: all of them).

        A question embedded by one model means nothing next to chunk embeddings made by another, so documents
        ingested with another model version are left to the other lists until they are ingested again.
        """
        records = self.store.documents(self.collection)
        own = {record.doc_id for record in records if record.model == self._model_fingerprint}
        if len(own) == len(records):
            return None
        logger.warning("%d of %d documents in collection %r were encoded by another model version; dense retrieval "
                       "leaves them out until their files are ingested again", len(records) - len(own), len(records),
                       self.collection)
        return own

    def encoder_ranking(self, name: str, question: str, n: int, doc_ids=None, rows=None) -> list[str]:
        """The chunks nearest to the question by the sentence encoder `name` (its whole-collection index)."""
        index = self._encoder_indexes[name, self.config.encoder_windows]
        scores = index.chunk_scores(self.encoders[name].encode_query(question))
        return self._best_chunk_ids(scores, n, doc_ids, rows)

    def _best_chunk_ids(self, scores: np.ndarray, n: int, doc_ids=None, rows=None) -> list[str]:
        """Ids of the n best-scoring chunk-table rows (scores per row), only of `doc_ids` or `rows` when given."""
        scope = self.table.rows_of(doc_ids, rows)
        if scope is not None:
            allowed = np.zeros(len(scores), dtype=bool)
            allowed[scope] = True
            scores = np.where(allowed, scores, -np.inf)
        top = np.argsort(-scores)[:n]
        return [self.table.ids[r] for r in top if np.isfinite(scores[r])]

    def _load_encoder_index(self, name: str, words: int | None,
                            progress: Callable[[int, int], None] | None = None) -> SpanIndex:
        encoder = self.encoders[name]
        unit = f"windows{words}" if words else "chunks"
        cache = self._document_cache(name, unit, encoder.name)
        return encoder_index(self.table, encoder, words, cache, progress)

    def span_ranking(self, question: str, n: int, doc_ids=None, rows=None) -> list[str]:
        return self._best_chunk_ids(self.span_scores(question), n, doc_ids, rows)

    def span_scores(self, question: str) -> np.ndarray:
        """Each chunk-table row's best span cosine to the question (-inf: no span)."""
        return self._span_index.chunk_scores(self._span_query(question))

    def _span_query(self, question: str) -> np.ndarray:
        """Our model's embedding of the question, kept for the question's stages."""
        if self._last_span_query is None or self._last_span_query[0] != question:
            self._last_span_query = question, self.model.embed_texts([self.tokenizer.encode(question)])[0].numpy()
        return self._last_span_query[1]

    def _document_cache(self, *parts: str) -> DocumentCache | None:
        """The per-document cache in cache_dir/parts..., or None without a cache_dir."""
        return DocumentCache(Path(self.cache_dir, *parts), self.cache_required) if self.cache_dir else None

    def _load_span_index(self, progress: Callable[[int, int], None] | None = None) -> SpanIndex:
        cache = self._document_cache("spans", self._model_fingerprint)
        return SpanIndex.build(self.table, self.model, self.tokenizer, cache, progress)

    # ---- search --------------------------------------------------------------------------------------------
    def search(self, question: str, k: int = 5, doc_ids=None, timings: dict | None = None) -> list[Passage]:
        """The k best passages for the question, optionally only from some documents (doc ids), and only from the
        part of a book the question names ('in Act 3', 'in the last chapter') where the documents have it."""
        rows, asked = self.scope(question, doc_ids)
        return self.search_within(asked, k, doc_ids, rows, timings)

    def search_within(self, question: str, k: int = 5, doc_ids=None, rows=None,
                      timings: dict | None = None) -> list[Passage]:
        """`search` for a question already scoped (`scope`: what is asked, and the rows of the part it names)."""
        cfg = self.config
        timings = timings if timings is not None else {}
        ranked: dict[str, list[str]] = {}
        weights = {"bm25": cfg.w_bm25, "dense": cfg.w_dense, "spans": cfg.w_spans,
                   **{name: cfg.w_encoder for name in self.encoders}}
        t = time.perf_counter()
        if cfg.bm25:
            ranked["bm25"] = self.bm25_ranking(question, cfg.candidates, doc_ids, rows)
            timings["bm25_ms"] = (time.perf_counter() - t) * 1000
        if cfg.dense and self.model is not None:
            t = time.perf_counter()
            ranked["dense"] = self.dense_ranking(question, cfg.candidates, doc_ids, rows)
            timings["dense_ms"] = (time.perf_counter() - t) * 1000
        if cfg.dense_spans and self._span_index is not None:
            t = time.perf_counter()
            ranked["spans"] = self.span_ranking(question, cfg.candidates, doc_ids, rows)
            timings["spans_ms"] = (time.perf_counter() - t) * 1000
        if (cfg.encoder_index, cfg.encoder_windows) in self._encoder_indexes:
            t = time.perf_counter()
            ranked[cfg.encoder_index] = self.encoder_ranking(cfg.encoder_index, question, cfg.candidates, doc_ids,
                                                             rows)
            timings["encoder_index_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        fused = reciprocal_rank_fusion(ranked, weights, k=cfg.rrf_k)
        if cfg.minilm_rescore and "minilm" in self.encoders and fused:
            top = fused[: cfg.rescore_top]
            sims = self.encoders["minilm"].similarity(question, [self.table.texts[self.table.row[f.id]] for f in top])
            ranked["minilm"] = [f.id for _, f in sorted(zip(sims, top), key=lambda x: -x[0])]
            fused = reciprocal_rank_fusion(ranked, weights, k=cfg.rrf_k)
            timings["minilm_rescore_ms"] = (time.perf_counter() - t) * 1000
        best_match = None
        if cfg.sentence_rerank and fused:
            t_rerank = time.perf_counter()
            fused, best_match = self.sentence_rerank(question, fused, self.idf(doc_ids))
            timings["sentence_rerank_ms"] = (time.perf_counter() - t_rerank) * 1000
        weak = cfg.weak_match is None or (best_match is not None and best_match < cfg.weak_match)
        if cfg.fallback and self._fallback_available() and weak and fused:
            t_fallback = time.perf_counter()
            fused = self.merge_fallback(question, fused, doc_ids, rows)
            timings["fallback_ms"] = (time.perf_counter() - t_fallback) * 1000
        asked = split_follow_up_context(question)[0]
        quote, lookup, speech = quoted_words(asked), lookup_for(asked), speech_asked(asked) or death_asked(asked)
        if quote:
            fused = self.quoted_first(quote, fused, doc_ids, rows)
        elif lookup:
            fused = self.lookup_first(lookup, fused, doc_ids, rows)
        elif speech:
            fused = self.spoken_first(speech, fused, doc_ids, rows)
        passages = [self.passage(self.table.row[f.id], f.score) for f in fused[:k] if f.id in self.table.row]
        timings["fuse_ms"] = (time.perf_counter() - t) * 1000
        return passages

    def scope(self, question: str, doc_ids=None) -> tuple[list[int] | None, str]:
        """(rows, what is asked): the rows of the part of a book the question names (app.sections; None when it
        names none, or the documents have no such part: then they are searched whole), and the question without
        the part it names or asks for ('In which chapter ...?'), so that its words match the text, not headings:
        'In Act II, Scene 3, ...' of an edition whose Act II has two scenes is still about what it asks."""
        asked, context = split_follow_up_context(question)
        ref = section_ref(asked)
        rows = (self.table.rows_in_section(ref, doc_ids) or None) if ref else None
        return rows, with_follow_up_context(without_section_ref(asked), context.split())

    def quoted_first(self, quote: str, fused: list, doc_ids=None, rows=None) -> list:
        """`fused` with the chunks that hold the question's quoted words first (in their fused order), when at most
        MAX_QUOTING do: a line quoted word for word is the surest evidence there is, and the question may have no
        other ('Who says "What's in a name?"': each of its words is a stopword or filler)."""
        quoting_rows = self.table.rows_quoting(quote, doc_ids, rows)
        if not quoting_rows or len(quoting_rows) > MAX_QUOTING:
            return fused
        return self._rows_first(quoting_rows, fused)

    def lookup_first(self, lookup: Lookup, fused: list, doc_ids=None, rows=None) -> list:
        """`fused` with the first chunks that hold the place answering the question (app.lookups) first: 'Who is
        Banquo?' is answered by the cast list's 'BANQUO, General in the King's Army.', not by the scenes that name
        him most."""
        return self._rows_first(self.table.rows_holding(lookup.holds_answer, doc_ids, rows), fused)

    def spoken_first(self, speech: SpeechAsked, fused: list, doc_ids=None, rows=None) -> list:
        """`fused` with the chunk holding the asked speaker's last (first) words first (app.speeches): 'What are
        Romeo's last words?' shares no word with 'Thus with a kiss I die.'"""
        ranked_docs = list(dict.fromkeys(self.table.metadatas[self.table.row[f.id]].get("doc_id", "")
                                         for f in fused if f.id in self.table.row))
        spoken = self.table.words_spoken(speech, doc_ids, rows, ranked_docs)
        return self._rows_first([spoken.row], fused) if spoken else fused

    def _rows_first(self, first_rows: list[int], fused: list) -> list:
        """`fused` with the chunks of `first_rows` first: those it ranks in their fused order, then the others."""
        ids = {self.table.ids[r] for r in first_rows}
        first = [f for f in fused if f.id in ids]
        ranked = {f.id for f in first}
        first += [Fused(self.table.ids[r], 0.0) for r in first_rows if self.table.ids[r] not in ranked]
        return first + [f for f in fused if f.id not in ids]

    def sentence_rerank(self, question: str, fused: list, idf=None) -> tuple[list, float]:
        """The top fused chunks reordered by their best sentence-window match (+ a share of the fused score).

        A chunk is judged by the text its passage shows, grown to sentence boundaries: a sentence cut by the chunk's
        edge is whole there (dev: g20's "The set grid command allows grid lines..." opens on the chunk before).
        Also returns the best window match itself: how well the lexical evidence states the question (0..1.15).
        """
        cfg = self.config
        top = [f for f in fused[: cfg.sentence_rerank_top] if f.id in self.table.row]
        match = QuestionMatch(question, idf or self.bm25.term_idf)
        if not top or not match.terms:
            return fused, 0.0
        high = max(f.score for f in top) or 1.0
        span_share = self._span_shares(question, top)
        scored, best = [], 0.0
        for f, span in zip(top, span_share):
            row = self.table.row[f.id]
            heading = chunk_heading(self.table.metadatas[row]) if cfg.index_section else None
            sentence = best_window_match(match, self.grown_text(row), heading)
            best = max(best, sentence)
            scored.append((sentence + cfg.w_first_stage * f.score / high + cfg.w_span_rerank * span, f))
        scored.sort(key=lambda x: -x[0])
        reranked = [replace(f, score=score) for score, f in scored]
        return reranked + fused[cfg.sentence_rerank_top:], best

    def _span_shares(self, question: str, top: list) -> np.ndarray:
        """The span memory's score of each of `top`, scaled to 0 (the lowest) .. 1 (the highest); zeros without it.

        Cosines of different questions lie in different ranges, so only their order among the candidates is used.
        """
        if self._span_index is None or not self.config.w_span_rerank:
            return np.zeros(len(top))
        scores = self._span_index.scores_of(self._span_query(question), [self.table.row[f.id] for f in top])
        finite = scores[np.isfinite(scores)]
        if len(finite) < 2 or finite.max() == finite.min():
            return np.zeros(len(top))
        return np.where(np.isfinite(scores), (scores - finite.min()) / (finite.max() - finite.min()), 0.0)

    def single_lists(self) -> dict[str, Callable]:
        """Each ranked list this retriever can build alone, by name -> ranking(question, n, doc_ids) -> chunk ids:
        BM25, our model's dense search, its span memory and the sentence encoders whose index is loaded."""
        lists = {"bm25": self.bm25_ranking}
        if self.model is not None:
            lists["dense"] = self.dense_ranking
        for name in ("spans", *self.encoders):
            ranking = self._whole_collection_ranking(name)
            if ranking is not None:
                lists[name] = ranking
        return lists

    def _whole_collection_ranking(self, name: str):
        """The ranking function of a whole-collection list ("spans", or an encoder's: "minilm", "bge"), None when its
        index is not loaded."""
        if name == "spans":
            return self.span_ranking if self._span_index is not None else None
        loaded = (name, self.config.encoder_windows) in self._encoder_indexes
        return partial(self.encoder_ranking, name) if loaded else None

    def _fallback_available(self) -> bool:
        return all(self._whole_collection_ranking(name) is not None for name in self.config.fallback_lists())

    def fallback_passages(self, question: str, taken: set[str], doc_ids=None, rows=None) -> list[str]:
        """The fallback's `fallback_passages` best chunk ids not in `taken`: its lists' best others in turn (with
        "minilm+spans" and 2 passages, MiniLM's best other, then the span memory's best other but that one)."""
        cfg = self.config
        depth = len(taken) + cfg.fallback_passages
        rankings = [[i for i in self._whole_collection_ranking(name)(question, depth, doc_ids, rows)
                     if i not in taken] for name in cfg.fallback_lists()]
        in_turn = (i for tier in zip_longest(*rankings) for i in tier if i is not None)
        return list(dict.fromkeys(in_turn))[: cfg.fallback_passages]

    def merge_fallback(self, question: str, fused: list, doc_ids=None, rows=None) -> list:
        """`fused` with the fallback lists' best passages after its first `fallback_keep` (for a likely paraphrase).

        The question's words are not in the text together, so the lexical ranking is unreliable below its top
        few; a list that matches meaning (MiniLM, our span memory) brings its own best passages into the places
        after them. Each place keeps its score, so scores still fall with rank.
        """
        cfg = self.config
        head = fused[: cfg.fallback_keep]
        added = self.fallback_passages(question, {f.id for f in head}, doc_ids, rows)
        by_id = {f.id: f for f in fused}
        order = head + [by_id.get(i) or Fused(i, 0.0, {cfg.fallback: 1}) for i in added] + \
            [f for f in fused[cfg.fallback_keep:] if f.id not in added]
        scores = [f.score for f in fused] + [0.0] * (len(order) - len(fused))
        return [replace(f, score=score) for f, score in zip(order, scores)]

    # ---- passages ------------------------------------------------------------------------------------------
    def _neighbour_text(self, row: int) -> tuple[tuple[str, dict | None], tuple[str, dict | None]]:
        """(prefix, its chunk's metadata), (suffix, its chunk's metadata): the neighbouring chunks' text that makes
        the chunk at `row` start and end on sentence boundaries ("", None where it already does)."""
        text = self.table.texts[row]
        prefix = suffix = ("", None)
        if self.config.neighbours:
            prev_row, next_row = self.table.neighbour(row, -1), self.table.neighbour(row, 1)
            if prev_row is not None and not _starts_sentence(text):
                prefix = (_tail_from_sentence_start(self.table.texts[prev_row], self.config.neighbour_chars),
                          self.table.metadatas[prev_row])
            if next_row is not None and not _ends_sentence(text):
                suffix = (_head_to_sentence_end(self.table.texts[next_row], self.config.neighbour_chars),
                          self.table.metadatas[next_row])
        return prefix, suffix

    def grown_text(self, row: int) -> str:
        """The text of the chunk at `row` as its passage shows it: grown to sentence boundaries."""
        (prefix, _), (suffix, _) = self._neighbour_text(row)
        return prefix + self.table.texts[row] + suffix

    def passage(self, row: int, score: float = 0.0) -> Passage:
        """The chunk at `row` as a Passage, with neighbour text up to sentence boundaries and page breaks."""
        meta, text = self.table.metadatas[row], self.table.texts[row]
        doc_id = meta.get("doc_id", "")
        (prefix, prev_meta), (suffix, next_meta) = self._neighbour_text(row)
        page_start = int(meta.get("page_start") or 0) or None
        page_end = int(meta.get("page_end") or 0) or page_start
        label_start, label_end = meta.get("page_label_start") or None, meta.get("page_label_end") or None
        breaks: list[tuple[int, int, str | None]] = []
        if prefix and prev_meta is not None:
            prev_page = int(prev_meta.get("page_end") or 0) or page_start
            if prev_page != page_start:  # the prefix is on the previous chunk's last page
                breaks.append((len(prefix), page_start, label_start))
                page_start, label_start = prev_page, prev_meta.get("page_label_end") or None
        breaks += [(len(prefix) + offset, page, label) for offset, page, label in _chunk_page_breaks(text, meta)]
        if suffix and next_meta is not None:
            next_page = int(next_meta.get("page_start") or 0) or page_end
            if next_page != page_end:
                breaks.append((len(prefix) + len(text), next_page, next_meta.get("page_label_start") or None))
                page_end, label_end = next_page, next_meta.get("page_label_start") or None
        return Passage(id=self.table.ids[row], text=prefix + text + suffix, source=meta.get("source", ""),
                       page_start=page_start, page_end=page_end, page_label_start=label_start,
                       page_label_end=label_end, section=meta.get("section") or None, score=float(score),
                       page_breaks=breaks, doc_id=doc_id, title=meta.get("title", ""),
                       section_breaks=[(len(prefix) + offset, title)
                                       for offset, title in json.loads(meta.get("inner_sections") or "[]")],
                       chunk_span=(len(prefix), len(prefix) + len(text)), speaker=self._speaker_at(row, prefix),
                       speaker_names=self.table.speaker_names(doc_id) if meta.get("speaker") is not None else {},
                       lower_case_words=self.table.lower_case_words(doc_id))

    def next_passage(self, passage: Passage) -> Passage | None:
        """The passage of the chunk after the passage's own in its document; None after the last."""
        following = self.table.neighbour(self.table.row[passage.id], 1)
        return self.passage(following) if following is not None else None

    def _speaker_at(self, row: int, prefix: str) -> str | None:
        """Who is speaking where the passage of the chunk at `row` begins (`prefix`: its text from the chunk before);
        None outside plays."""
        meta = self.table.metadatas[row]
        if not prefix:
            return meta.get("speaker")
        prev_row = self.table.neighbour(row, -1)
        initial, prev_text = self.table.metadatas[prev_row].get("speaker"), self.table.texts[prev_row]
        if initial is None:
            return None
        speaker = speaker_after(prev_text, len(prev_text) - len(prefix), initial)
        return self.table.speaker_names(meta.get("doc_id", "")).get(speaker, speaker)


def _starts_sentence(text: str) -> bool:
    stripped = text.lstrip()
    return not stripped or text[: len(text) - len(stripped)].count("\n") >= 2 or \
        (text[:1].isspace() and stripped[0].isupper())


def _ends_sentence(text: str) -> bool:
    stripped = text.rstrip()
    return not stripped or stripped[-1] in ".!?\"'’”)]" and text[len(stripped):].count("\n") >= 1


def _tail_from_sentence_start(text: str, max_chars: int) -> str:
    """The end of `text` from the start of its last sentence (at most max_chars, cut at a space)."""
    window = text[-max_chars:]
    ends = list(_SENTENCE_END.finditer(window))
    if ends:
        return window[ends[-1].end():]
    space = window.find(" ")
    return window[space + 1:] if 0 <= space < len(window) - 1 and len(text) > max_chars else window


def _head_to_sentence_end(text: str, max_chars: int) -> str:
    """The start of `text` up to the end of its first sentence (at most max_chars, cut at a space)."""
    window = text[:max_chars]
    end = _SENTENCE_END.search(window)
    if end:
        return window[: end.end()].rstrip()
    space = window.rfind(" ")
    return window[:space] if space > 0 and len(text) > max_chars else window


def _chunk_page_breaks(text: str, meta: dict) -> list[tuple[int, int, str | None]]:
    """(offset, page, label) where a page after the chunk's first begins inside its text.

    The store keeps only the first and last page of a chunk; pages are joined by a blank line, so the breaks are
    the blank lines (PDF page texts rarely contain one themselves; if they do, the last ones are taken).
    """
    first, last = int(meta.get("page_start") or 0), int(meta.get("page_end") or 0)
    if not first or last <= first:
        return []
    gaps = [m.end() for m in re.finditer(r"\n\n", text)]
    n = last - first
    gaps = gaps[-n:] if len(gaps) >= n else gaps
    pages = list(range(last - len(gaps) + 1, last + 1))
    labels = [None] * len(pages)
    if pages and pages[-1] == last:
        labels[-1] = meta.get("page_label_end") or None
    return [(offset, page, label if label is not None else _guess_label(meta, page))
            for offset, page, label in zip(gaps, pages, labels)]


def _guess_label(meta: dict, page: int) -> str | None:
    """Printed label of an inner page: numeric labels count on from the first page's label."""
    start_label, first = meta.get("page_label_start"), int(meta.get("page_start") or 0)
    if start_label and str(start_label).isdigit():
        return str(int(start_label) + page - first)
    return str(page)
