"""One dataclass holds every shape and hyper-parameter of the model."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields


@dataclass
class NonAttnConfig:
    vocab_size: int = 100288          # cl100k_base (100277) padded to a multiple of 64
    d_model: int = 256
    n_layers: int = 6                 # total blocks
    n_lower_layers: int = 4           # blocks below the supervisor; the rest are conditioned on its state
    d_state: int = 32                 # S4D state size (N); N/2 complex modes per channel
    dt_min: float = 1e-4              # smallest S4D step: memory of roughly 2/(dt_min) tokens
    dt_max: float = 1e-1
    conv_kernel: int = 3
    conv_dilations: tuple[int, ...] = (1, 2, 4, 8, 16)
    mlp_ratio: float = 2.0
    embed_rank: int = 128             # factorized token embedding: vocab x rank, then rank -> d_model
    chunk_size: int = 256             # tokens per chunk: the unit of supervisor steps and chunk embeddings
    embed_dim: int = 384              # chunk-embedding size (what Chroma stores)
    lexical_bag: bool = True          # chunk embeddings add a weighted bag of the chunk's token vectors
    supervisor_dim: int = 256         # GRU state size
    memory_topk: int = 4              # earlier chunks retrieved per chunk
    norm_eps: float = 1e-5

    def __post_init__(self):
        self.conv_dilations = tuple(self.conv_dilations)
        if not 0 <= self.n_lower_layers <= self.n_layers:
            raise ValueError("n_lower_layers must be between 0 and n_layers")
        if self.d_state % 2:
            raise ValueError("d_state must be even (conjugate pairs)")

    @property
    def chunk_features(self) -> int:
        """Width of what is summed over a chunk: the lower blocks' output, then the lexical bag's token vectors."""
        return self.d_model + (self.embed_rank if self.lexical_bag else 0)

    @property
    def conv_tail(self) -> int:
        """How many past inputs the widest dilated convolution looks back on."""
        return (self.conv_kernel - 1) * max(self.conv_dilations)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> "NonAttnConfig":
        known = {f.name for f in fields(cls)}
        data = {"lexical_bag": False, **data}  # configs saved before the lexical bag existed describe models without it
        return cls(**{k: v for k, v in data.items() if k in known})
