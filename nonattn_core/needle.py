"""Needle in a haystack: a pass key hidden at 10 depths of real-text haystacks of 1K to 1M tokens.

    python -m nonattn_core.needle --haystack .carry/corpus/val.jsonl.xz --lengths 1024,16384,131072,1048576

Three readers: the model alone (it reads everything, then is asked for the key and generates digits greedily),
and the model with its retrieval memory at two resolutions: the question is embedded and matched against the
document's 256-token chunk embeddings, or its 32-token spans starting every 8 tokens (`NonAttnLM.encode_spans`),
and the best chunk or span (with the next 256 or 32 tokens) is read for the digits.
"""
from __future__ import annotations

import argparse
import json
import lzma
import random
import re

import torch

from .model import NonAttnLM
from .tokenizer import Tokenizer

NEEDLE = "The secret pass key is {key}. Remember it: the pass key is {key}."
QUESTION = "What is the secret pass key?"
PROMPT = "\nQuestion: What is the secret pass key?\nAnswer: The secret pass key is"


def haystack_tokens(path: str, tokenizer: Tokenizer, length: int) -> list[int]:
    """Real text from a JSONL.xz of documents, encoded once and repeated until `length` tokens."""
    text_tokens: list[int] = []
    with lzma.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            text_tokens += tokenizer.encode(json.loads(line)["text"] + "\n\n")
            if len(text_tokens) >= length:
                return text_tokens[:length]
    repeats = -(-length // len(text_tokens))
    return (text_tokens * repeats)[:length]


def with_needle(haystack: list[int], needle: list[int], depth: float) -> list[int]:
    """The haystack with the needle inserted at `depth` (0..1), same total length."""
    at = int(depth * (len(haystack) - len(needle)))
    return haystack[:at] + needle + haystack[at:len(haystack) - len(needle)]


@torch.no_grad()
def model_alone(model: NonAttnLM, tokens: list[int], tokenizer: Tokenizer, key: str, piece: int) -> bool:
    state = model.init_state(1)
    ids = torch.tensor([tokens], device=model.device)
    with model.inference_autocast():
        for start in range(0, len(tokens), piece):
            _, state = model.forward_stream(ids[:, start:start + piece], state, return_logits=False, return_hidden=True)
        out, state = model.forward_stream(torch.tensor([tokenizer.encode(PROMPT)], device=model.device), state)
        generated = []
        for _ in range(6):
            next_id = int(out.logits[0, -1, : tokenizer.n_vocab].argmax())
            generated.append(next_id)
            out, state = model.forward_stream(torch.tensor([[next_id]], device=model.device), state)
    return key in tokenizer.decode(generated)


def with_memory(model: NonAttnLM, tokens: list[int], tokenizer: Tokenizer, key: str, piece: int) -> bool:
    embeddings = model.encode_document(tokens, piece_tokens=piece).embeddings
    size = model.config.chunk_size
    return key in read_best(embeddings, model, tokens, tokenizer, size, size)


def with_span_memory(model: NonAttnLM, tokens: list[int], tokenizer: Tokenizer, key: str, piece: int,
                     span: int = 32, stride: int = 8) -> bool:
    embeddings = model.encode_spans(tokens, span_tokens=span, stride_tokens=stride, piece_tokens=piece)
    return key in read_best(embeddings, model, tokens, tokenizer, span, stride)


def read_best(embeddings: torch.Tensor, model: NonAttnLM, tokens: list[int], tokenizer: Tokenizer,
              size: int, stride: int) -> list[str]:
    """The 5-digit numbers in the best-matching unit (`size` tokens starting every `stride`) and the next `size`."""
    query = model.embed_texts([tokenizer.encode(QUESTION)])[0]
    start = int((embeddings @ query).argmax()) * stride
    return re.findall(r"\d{5}", tokenizer.decode(tokens[start:start + 2 * size]))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--haystack", default=".carry/corpus/val.jsonl.xz", help="JSONL.xz of {'text'} documents")
    parser.add_argument("--lengths", default="1024,16384,131072,1048576")
    parser.add_argument("--depths", type=int, default=10)
    parser.add_argument("--piece", type=int, default=65536)
    parser.add_argument("--skip-alone-above", type=int, default=1 << 30, help="skip the model-alone reader above N")
    args = parser.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tokenizer = NonAttnLM.from_pretrained(device=device), Tokenizer()
    rng = random.Random(0)
    lengths = [int(v) for v in args.lengths.split(",")]
    full = haystack_tokens(args.haystack, tokenizer, max(lengths))
    print("| haystack tokens | depths | model alone | model + memory of chunks | model + memory of 32-token spans |")
    print("|---:|---:|---:|---:|---:|")
    for length in lengths:
        alone = memory = spans = 0
        for d in range(args.depths):
            key = f"{rng.randrange(10000, 99999)}"
            tokens = with_needle(full[:length], tokenizer.encode(" " + NEEDLE.format(key=key) + " "),
                                 (d + 0.5) / args.depths)
            if length <= args.skip_alone_above:
                alone += model_alone(model, tokens, tokenizer, key, args.piece)
            memory += with_memory(model, tokens, tokenizer, key, args.piece)
            spans += with_span_memory(model, tokens, tokenizer, key, args.piece)
        alone_cell = f"{alone}/{args.depths}" if length <= args.skip_alone_above else "not run"
        print(f"| {length:,} | {args.depths} | {alone_cell} | {memory}/{args.depths} | {spans}/{args.depths} |",
              flush=True)


if __name__ == "__main__":
    main()
