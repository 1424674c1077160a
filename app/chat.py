"""Conversation helpers: follow-up questions made standalone, and optional prose answers from any LangChain
chat model (BaseChatModel) grounded only in the retrieved passages, citing them as [1], [2], ...

Without a chat model a follow-up is resolved lexically: a question that leans on an earlier turn (a pronoun,
"what about ...", or no content word but a bare common one) gets the content words of the previous question
appended (that question itself resolved first, so a topic carries through a chain of follow-ups), and, where the
previous question asked who, the names its answer gave ("Who was Caliban's mother?" -> "Sycorax": "she" is her).
That is what retrieval and sentence scoring need; with a chat model, the model rewrites it as a standalone
question.
"""
from __future__ import annotations

import re
from typing import Iterator

from app.answer import Passage, names_in, question_type
from app.text_utils import STOPWORDS, clean_pdf_text, with_follow_up_context

_DEPENDENT = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|him|his|she|her|hers|there|one|ones|"
                        r"same|former|latter|else|too|also)\b|^\s*(and|but|or|what about|how about|why|so)\b", re.I)
_CONTENT = re.compile(r"[^\W_][\w.'’-]*")
_BARE_WORDS = 3  # 'What year?', 'Which chapter then?': a question this short with one common word leans on the last
_ANSWER_NAMES = 2  # names taken from the answer to a "who" question
_MAX_RECALLED = 12  # earlier turns' words a follow-up carries at most (a long chain of follow-ups stops growing)

PROSE_SYSTEM = ("You answer questions using only the numbered passages given. Cite every claim with the passage "
                "number in square brackets, like [1] or [2][3]. If the passages do not contain the answer, reply "
                "exactly: The documents do not contain the answer. Be concise (at most 4 sentences).")
CONDENSE_SYSTEM = ("Rewrite the user's last question as a standalone question, resolving pronouns and references "
                   "from the conversation. Reply with the question only.")


def _turns(history) -> list[tuple[str, str | None]]:
    """History as (question, answer) pairs: accepts tuples, dicts {"question", "answer"} or QAResult objects."""
    out = []
    for turn in history or []:
        if isinstance(turn, dict):
            out.append((turn.get("question", ""), turn.get("answer")))
        elif isinstance(turn, (tuple, list)):
            out.append((turn[0], turn[1] if len(turn) > 1 else None))
        else:
            out.append((getattr(turn, "question", ""), getattr(turn, "answer", None)))
    return [(q, a) for q, a in out if q]


def _content_words(text: str) -> list[str]:
    return [w for w in _CONTENT.findall(text) if w.lower() not in STOPWORDS and len(w) > 1]


def is_follow_up(question: str) -> bool:
    """Does the question lean on an earlier turn: a pronoun, 'what about', no content word at all ('Why?'), or a
    bare common word ('What year?')? A short question naming its own subject stands alone ('What is CRAN?',
    'How do you quit R?', 'Who wrote R?')."""
    if _DEPENDENT.search(question):
        return True
    if any(word[:1].isupper() for word in question.split()[1:]):     # a name: 'Who wrote R?', 'Where is Elsinore?'
        return False
    content = _content_words(question)
    return not content or (len(content) == 1 and content[0].islower() and len(question.split()) <= _BARE_WORDS)


def resolve_follow_up(question: str, history=None, chat_model=None) -> str:
    """A standalone version of `question` given earlier turns (unchanged when there are none or it stands alone)."""
    turns = _turns(history)
    if not turns or not is_follow_up(question):
        return question
    if chat_model is not None:
        try:
            from langchain_core.messages import HumanMessage, SystemMessage
            conversation = "\n".join(f"Q: {q}\nA: {a or '(no answer)'}" for q, a in turns[-3:])
            reply = chat_model.invoke([SystemMessage(CONDENSE_SYSTEM),
                                       HumanMessage(f"{conversation}\n\nLast question: {question}")])
            rewritten = " ".join(str(getattr(reply, "content", reply)).split())
            if rewritten:
                return rewritten
        except Exception:  # a failing chat model must not break question answering
            pass
    previous, answer = turns[-1]
    topic = _content_words(resolve_follow_up(previous, turns[:-1]))
    if answer and question_type(previous) == "who":
        topic += names_in(answer, known=set(topic))[:_ANSWER_NAMES]
    have = {w.lower() for w in _content_words(question)}
    extra = list(dict.fromkeys(w for w in topic if w.lower() not in have))
    return with_follow_up_context(question, extra[:_MAX_RECALLED])


def prose_messages(question: str, passages: list[Passage]):
    """The messages for a grounded prose answer: system rules, then the numbered passages and the question."""
    from langchain_core.messages import HumanMessage, SystemMessage
    blocks = []
    for i, p in enumerate(passages, start=1):
        where = f"{p.source.rsplit('/', 1)[-1]}" + (f", p. {p.page_label_start or p.page_start}" if p.page_start else "")
        blocks.append(f"[{i}] ({where})\n{clean_pdf_text(p.text)}")
    return [SystemMessage(PROSE_SYSTEM), HumanMessage("Passages:\n\n" + "\n\n".join(blocks) +
                                                      f"\n\nQuestion: {question}")]


def prose_answer(chat_model, question: str, passages: list[Passage]) -> str:
    """A prose answer by the chat model from the passages only, citing them as [n]."""
    reply = chat_model.invoke(prose_messages(question, passages))
    return str(getattr(reply, "content", reply)).strip()


def stream_prose(chat_model, question: str, passages: list[Passage]) -> Iterator[str]:
    """The prose answer as it is written: yields the text so far after each streamed piece."""
    text = ""
    for piece in chat_model.stream(prose_messages(question, passages)):
        text += str(getattr(piece, "content", piece))
        yield text
