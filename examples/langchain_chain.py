"""A small LCEL chain on NonAttnRetriever, fully offline: retrieve -> cite -> fill a prompt template.

The chain stops at the prompt an LLM would receive (with every passage tagged by file and page) and the list of
sources; pipe it into any chat model you have (`chain | llm`) to get a generated answer.

    python -m app.demo --check                                   # once: ingest the example document
    python examples/langchain_chain.py "How do you quit the R program?" [--db DIR] [--collection NAME] [-k 4]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel, RunnablePassthrough

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from app.langchain import NonAttnRetriever  # noqa: E402

PROMPT = PromptTemplate.from_template(
    "Answer the question using only the context. Cite the [file, page] of each fact you use.\n\n"
    "Context:\n{context}\n\nQuestion: {question}\nAnswer:"
)


def citation(document: Document) -> str:
    """'[R-intro.pdf, p. 9]' from a retrieved Document's metadata."""
    page = document.metadata.get("page_label") or document.metadata.get("page")
    return f"[{Path(document.metadata.get('source', '')).name}, p. {page}]"


def format_documents(documents: list[Document]) -> str:
    """The passages, each under its citation, for the prompt's context."""
    return "\n\n".join(f"{citation(d)}\n{' '.join(d.page_content.split())}" for d in documents)


def build_chain(retriever: NonAttnRetriever) -> Runnable:
    """question -> {"prompt": str, "sources": [citation, ...]}"""
    retrieved = RunnableParallel(documents=retriever, question=RunnablePassthrough())
    return retrieved | RunnableParallel(
        prompt=RunnableLambda(lambda x: {"context": format_documents(x["documents"]), "question": x["question"]})
        | PROMPT
        | RunnableLambda(lambda prompt: prompt.to_string()),
        sources=RunnableLambda(lambda x: [citation(d) for d in x["documents"]]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a prompt with cited context for a question (offline).")
    parser.add_argument("question")
    parser.add_argument("--db", metavar="DIR", help="embedded Chroma directory (default: the per-user one)")
    parser.add_argument("--collection", default="default")
    parser.add_argument("-k", type=int, default=4, help="passages to retrieve (default: %(default)s)")
    args = parser.parse_args(argv)
    from ingest.errors import StoreError

    chain = build_chain(NonAttnRetriever(collection=args.collection, db=args.db, k=args.k))
    try:
        result = chain.invoke(args.question)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(result["prompt"])
    print("\nSources:", ", ".join(result["sources"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
