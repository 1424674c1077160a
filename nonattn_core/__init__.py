"""nonattn_core: a non-attention language model for ultra-long documents (arXiv 2506.01963, made causal)."""
from .config import NonAttnConfig
from .memory import ChunkMemory, InProcessMemory
from .model import CheckpointError, EncodeResult, ModelOutput, NonAttnLM, StreamState, checkpoint_directory
from .tokenizer import Tokenizer

__all__ = ["NonAttnConfig", "NonAttnLM", "Tokenizer", "ModelOutput", "StreamState", "EncodeResult",
           "ChunkMemory", "InProcessMemory", "CheckpointError", "checkpoint_directory"]
