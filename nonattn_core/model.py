"""NonAttnLM: a language model with no attention, built to read whole books in linear time.

    tokens -> factorized embedding -> lower blocks (S4D + dilated convs + MLP)
           -> per chunk: summary -> chunk embedding (memory key) -> retrieve earlier chunks -> fuse -> GRU
           -> upper blocks, each chunk's tokens conditioned on the supervisor state after the previous chunk
           -> tied LM head

One code path serves both execution modes: `forward` is `forward_stream` over a single piece from an empty
state (FFT over the whole sequence), and streaming feeds pieces of any length while carrying SSM states,
convolution tails, the partial chunk's sum, the supervisor state and the memory.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .bf16_weights import linear
from .block import Block, BlockState, RMSNorm
from .config import NonAttnConfig
from .memory import ChunkMemory, InProcessMemory
from .supervisor import ChunkEmbeddingHead, LexicalBag, Supervisor

def cpu_multiplies_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AMX tiles, or AVX-512 BF16 dot products: bf16 matmuls 4x or more
    faster than float32 on the machines measured) and bf16 is not turned off (NONATTN_CPU_BF16=0)."""
    if os.environ.get("NONATTN_CPU_BF16", "1") == "0":
        return False
    probes = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    return any(probe and probe() for probe in probes)


DEFAULT_CHECKPOINT = Path(__file__).parent / "checkpoints" / "default"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


class CheckpointError(FileNotFoundError):
    """A checkpoint directory that is missing, not a directory, or lacks its weights or config; str() is one line.

    A FileNotFoundError, so callers that caught that before still do; the CLIs catch this class to report a mistyped
    --checkpoint as one line instead of a traceback.
    """


def checkpoint_directory(directory: str | Path | None = None) -> Path:
    """The checkpoint directory to load (None: the shipped default), or CheckpointError when it cannot hold one.

    Cheap (the config and the weights' header are read, no tensor), so a command can check its --checkpoint before
    it creates or opens anything.
    """
    directory = Path(directory).expanduser() if directory else DEFAULT_CHECKPOINT
    if not directory.exists():
        raise CheckpointError(f"no checkpoint directory {directory}")
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint {directory} is a file, not a directory")
    if not (directory / WEIGHTS_FILE).is_file() or not (directory / CONFIG_FILE).is_file():
        raise CheckpointError(f"no checkpoint in {directory} (expected {WEIGHTS_FILE} and {CONFIG_FILE})")
    from safetensors import safe_open

    try:
        NonAttnConfig.from_dict(json.loads((directory / CONFIG_FILE).read_text()))
        with safe_open(str(directory / WEIGHTS_FILE), "pt"):   # reads the header, checks the file holds what it lists
            pass
    except Exception as error:  # bad JSON, unknown config keys, a truncated or foreign weights file
        raise _damaged(directory, error) from None
    return directory


def _damaged(directory: Path, error: Exception) -> CheckpointError:
    reason = " ".join(str(error).split())[:200]
    return CheckpointError(f"checkpoint {directory} is damaged ({type(error).__name__}: {reason})")


@dataclass
class ModelOutput:
    logits: torch.Tensor | None            # (B, L, vocab), None when not asked for
    chunk_embeddings: torch.Tensor         # (B, chunks, embed_dim), L2-normalised
    loss: torch.Tensor | None = None       # next-token cross-entropy, when asked for
    hidden: torch.Tensor | None = None     # (B, L, D) final hidden states, when asked for


@dataclass
class StreamState:
    """Everything the model carries from one piece of a document to the next."""
    position: int                          # tokens consumed so far
    blocks: list[BlockState]
    chunk_sum: torch.Tensor                # (B, F) sum of chunk features (lower-block outputs, lexical vectors)
                                           # over the unfinished chunk
    supervisor: torch.Tensor               # (B, S) GRU state after the last finished chunk
    memory: ChunkMemory                    # embeddings of finished chunks (per batch row)
    lm_ready: bool = True                  # False once the upper blocks were skipped (embedding-only encoding)

    def to_bytes(self, include_memory: bool = False) -> bytes:
        """Serialise (small without the memory: ingest keeps chunk embeddings in Chroma and restores them)."""
        tensors = {"chunk_sum": self.chunk_sum, "supervisor": self.supervisor}
        for i, block in enumerate(self.blocks):
            if block.ssm is not None:
                tensors[f"ssm.{i}"] = torch.view_as_real(block.ssm)
                tensors[f"conv_tail.{i}"] = block.conv_tail
        if include_memory and isinstance(self.memory, InProcessMemory):
            tensors["memory"] = self.memory.keys
        buffer = io.BytesIO()
        torch.save({"position": self.position, "n_blocks": len(self.blocks), "lm_ready": self.lm_ready,
                    "tensors": {k: v.detach().cpu().contiguous() for k, v in tensors.items()}}, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, memory: ChunkMemory | None = None, device="cpu") -> "StreamState":
        saved = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
        t = saved["tensors"]
        blocks = [BlockState(torch.view_as_complex(t[f"ssm.{i}"]), t[f"conv_tail.{i}"]) if f"ssm.{i}" in t
                  else BlockState() for i in range(saved["n_blocks"])]
        if memory is None:
            memory = InProcessMemory(t["memory"]) if "memory" in t else None
        if memory is None:
            raise ValueError("this state was saved without its memory: pass memory= (the document's chunk embeddings)")
        return cls(saved["position"], blocks, t["chunk_sum"], t["supervisor"], memory, saved.get("lm_ready", True))


@dataclass
class EncodeResult:
    embeddings: torch.Tensor               # (n, embed_dim) float32 on CPU, chunks first_chunk, first_chunk+1, ...
    first_chunk: int                       # index of the first returned chunk in the document
    state: StreamState                     # continue the document from here (append)


class FactorizedEmbedding(nn.Module):
    """vocab x rank table followed by rank -> d_model; the LM head reuses both (tied), keeping checkpoints small."""

    def __init__(self, vocab_size: int, rank: int, d_model: int):
        super().__init__()
        self.table = nn.Embedding(vocab_size, rank)
        self.up = nn.Linear(rank, d_model, bias=False)
        nn.init.normal_(self.table.weight, std=0.02)
        nn.init.normal_(self.up.weight, std=rank ** -0.5)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rank = self.table.weight.shape[1]
        if ids.is_cuda and not torch.is_grad_enabled() and rank & (rank - 1) == 0 \
                and torch.is_autocast_enabled("cuda") and torch.get_autocast_dtype("cuda") == torch.bfloat16:
            from . import triton_ops
            if triton_ops.available():                                 # GPU inference in bf16: one pass
                return linear(triton_ops.table_rows(self.table.weight, ids, torch.bfloat16), self.up.weight)
        return linear(self.table(ids), self.up.weight)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return (hidden @ self.up.weight) @ self.table.weight.t()


class NonAttnLM(nn.Module):
    def __init__(self, config: NonAttnConfig | None = None):
        super().__init__()
        self.config = cfg = config or NonAttnConfig()
        self.embedding = FactorizedEmbedding(cfg.vocab_size, cfg.embed_rank, cfg.d_model)
        self.lower = nn.ModuleList(Block(cfg) for _ in range(cfg.n_lower_layers))
        self.upper = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers - cfg.n_lower_layers))
        self.chunk_head = ChunkEmbeddingHead(cfg.d_model, cfg.embed_dim, cfg.norm_eps)
        self.lexical = LexicalBag(cfg.vocab_size, cfg.embed_rank, cfg.embed_dim) if cfg.lexical_bag else None
        self.supervisor = Supervisor(cfg.d_model, cfg.embed_dim, cfg.supervisor_dim, cfg.memory_topk)
        self.final_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self._init_weights()

    def _init_weights(self):
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layers)
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear) and not name.startswith(("embedding", "supervisor.inject")):
                is_residual_out = name.endswith(("ssm.out_proj", "conv.out_proj", "mlp.down"))
                nn.init.normal_(module.weight, std=residual_std if is_residual_out else 0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    @property
    def device(self) -> torch.device:
        return self.embedding.table.weight.device

    def inference_autocast(self) -> torch.autocast:
        """The autocast context inference runs in: bf16 matmuls (float32 accumulation) on GPUs and on CPUs that
        multiply bf16 natively (AMX, AVX-512 BF16), float32 elsewhere. NONATTN_CPU_BF16=0 keeps CPUs in float32."""
        device = self.device.type
        enabled = device == "cuda" or (device == "cpu" and cpu_multiplies_bf16())
        return torch.autocast(device, dtype=torch.bfloat16, enabled=enabled)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ---- streaming state -------------------------------------------------------------------------------------
    def init_state(self, batch_size: int = 1, device=None) -> StreamState:
        device = device or self.device
        cfg = self.config
        return StreamState(
            position=0,
            blocks=[BlockState() for _ in range(cfg.n_layers)],
            chunk_sum=torch.zeros(batch_size, cfg.chunk_features, device=device),
            supervisor=torch.zeros(batch_size, cfg.supervisor_dim, device=device),
            memory=InProcessMemory.empty(batch_size, cfg.embed_dim, device=device),
        )

    # ---- forward ---------------------------------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor, return_loss: bool = False, return_logits: bool = True) -> ModelOutput:
        """Whole sequences in parallel.  input_ids (B, L) -> logits (B, L, V), chunk_embeddings (B, ceil(L/C), E).

        The loss, when asked for, is next-token: position t predicts token t+1.
        """
        out, _ = self.forward_stream(input_ids, self.init_state(input_ids.shape[0], input_ids.device),
                                     flush=True, return_logits=return_logits or return_loss)
        if return_loss:
            out.loss = next_token_loss(out.logits, input_ids)
        return out

    def forward_stream(self, input_ids: torch.Tensor, state: StreamState, flush: bool = False,
                       return_logits: bool = True, return_hidden: bool = False) -> tuple[ModelOutput, StreamState]:
        """Feed the next piece (B, T) of a stream.  Returns the chunk embeddings of the chunks finished in this piece
        (and, with flush=True, of the unfinished last chunk as it stands), and the state to continue from.

        Without logits the upper blocks are skipped: chunk embeddings and the supervisor do not depend on them,
        so embedding-only encoding is a third cheaper; the state then serves further encoding, not generation.
        """
        if input_ids.is_cuda and not torch.is_grad_enabled():          # GPU inference: CUDA-graph replay
            from .cuda_graphs import graphed_first_piece
            return graphed_first_piece(self, self._forward_stream, input_ids, state, flush=flush,
                                       return_logits=return_logits, return_hidden=return_hidden)
        return self._forward_stream(input_ids, state, flush, return_logits, return_hidden)

    def _forward_stream(self, input_ids: torch.Tensor, state: StreamState, flush: bool = False,
                        return_logits: bool = True, return_hidden: bool = False) -> tuple[ModelOutput, StreamState]:
        """forward_stream's body (`cuda_graphs.graphed_first_piece` replays it whole for a document's start)."""
        run_upper = return_logits or return_hidden
        if run_upper and not state.lm_ready:
            raise ValueError("this state was built without the upper blocks (embedding-only); it cannot give logits")
        stack = _plain_stack
        if input_ids.is_cuda and not torch.is_grad_enabled():          # GPU inference: CUDA-graph replay
            from .cuda_graphs import graphed_blocks as stack
        x, block_states = stack(self, "lower", self._lower_blocks, input_ids, state.blocks[: len(self.lower)])

        share = _upper_beside_gru_share(x, self.config.chunk_size, self.config.supervisor_dim) if run_upper else 0.0
        chunks = self._chunk_step(x, input_ids, state, defer_gru=share > 0)
        logits = hidden = None
        if run_upper:
            # Tokens of chunk m see the state after chunk m-1 only, never their own chunk's summary.
            if chunks.gru_steps is not None:
                hidden, upper_states = self._upper_beside_gru(x, chunks, stack, state.blocks[len(self.lower):], share)
            else:
                x = self._add_supervisor(x, chunks)
                hidden, upper_states = stack(self, "upper", self._upper_blocks, x, state.blocks[len(self.lower):])
            block_states += upper_states
            logits = self.embedding.logits(hidden) if return_logits else None
        else:
            block_states += [BlockState() for _ in self.upper]
        embeddings = chunks.keys if flush else chunks.keys[:, : chunks.n_finished]
        new_state = StreamState(state.position + input_ids.shape[1], block_states, chunks.chunk_sum,
                                chunks.supervisor, state.memory, lm_ready=state.lm_ready and run_upper)
        return ModelOutput(logits, embeddings, hidden=hidden if return_hidden else None), new_state

    def _lower_blocks(self, input_ids: torch.Tensor, states: list[BlockState]) -> tuple[torch.Tensor, list]:
        """Embedding and lower blocks: (B, T) ids -> (B, T, D), their new states."""
        return _through_blocks(self.lower, self.embedding(input_ids), states)   # (B, T, D)

    def _upper_blocks(self, x: torch.Tensor, states: list[BlockState],
                      out: torch.Tensor | None = None) -> tuple[torch.Tensor, list]:
        """Upper blocks and the final norm: (B, T, D) -> hidden (B, T, D), their new states. With `out` (GPU
        inference with Triton), the final norm writes there."""
        x, new_states = _through_blocks(self.upper, x, states)
        if out is None:
            return self.final_norm(x), new_states
        from . import triton_ops
        return triton_ops.rms_norm(x, self.final_norm.weight, self.final_norm.eps, out=out), new_states

    def _add_supervisor(self, x: torch.Tensor, chunks: "_ChunkStep") -> torch.Tensor:
        """x (B, T, D) plus the injected supervisor state each token's chunk is conditioned on."""
        return self._add_states(x, chunks.state_before, chunks.lead)

    def _add_states(self, x: torch.Tensor, state_before: torch.Tensor, lead: int) -> torch.Tensor:
        """x (B, T, D) plus the injected state_before (B, touched, S) of each token's chunk; the first chunk's first
        `lead` tokens came in earlier pieces."""
        injected = self.supervisor.inject(state_before.to(x.dtype))   # (B, touched, D)
        if x.is_cuda and not torch.is_grad_enabled() and x.shape[-1] & (x.shape[-1] - 1) == 0:
            from . import triton_ops
            if triton_ops.available():                                 # GPU inference: one pass (triton_ops.py)
                return triton_ops.add_rows(x, injected, self.config.chunk_size, lead)
        local_chunk = (torch.arange(x.shape[1], device=x.device) + lead) // self.config.chunk_size
        return x + injected[:, local_chunk]                           # (T,) index among touched chunks

    def _upper_beside_gru(self, x: torch.Tensor, chunks: "_ChunkStep", stack, states: list[BlockState],
                          share: float):
        """The upper blocks (as `stack` runs them) over the piece in two spans of whole chunks, the first beside the
        GRU steps that only the second span needs: tokens of chunk m need the state after chunk m-1 only. The GRU
        runs on a second stream (CUDA-graph capture records the fork and the join), its steps launched in two spans;
        the upper blocks stream from the first span to the second with their carried states, as for two pieces.
        `share`: of the chunks in the first span. -> hidden (B, T, D), the upper blocks' new states; fills in
        chunks.supervisor."""
        steps, C = chunks.gru_steps, self.config.chunk_size
        n_touched = chunks.keys.shape[1]
        first_chunks = max(1, min(n_touched - 1, round(share * n_touched)))
        split = first_chunks * C - chunks.lead                        # tokens of the first span
        main, side = torch.cuda.current_stream(), _gru_stream(x.device)
        side.wait_stream(main)                                         # the GRU's inputs are ready
        ready = []
        with torch.cuda.stream(side):
            for begin, end in ((0, first_chunks - 1), (first_chunks - 1, steps.n_steps)):
                steps.launch(begin, end)                               # the states of chunks begin+1 .. end
                ready.append(torch.cuda.Event())
                ready[-1].record(side)
        # Where no graph of the stack is replayed (its outputs would be copies), the spans' final norms write
        # into one buffer instead of being concatenated after (the residual stream keeps x's dtype).
        in_place = stack is _plain_stack or not _stack_replays(x[:, :split])
        if in_place:
            hidden = torch.empty_like(x, dtype=x.dtype if torch.is_autocast_enabled("cuda") else
                                      torch.promote_types(x.dtype, self.final_norm.weight.dtype))
        parts = []
        for (begin, end), (t0, t1), event in zip(((0, first_chunks), (first_chunks, n_touched)),
                                                 ((0, split), (split, x.shape[1])), ready):
            main.wait_event(event)
            part = self._add_states(x[:, t0:t1], chunks.state_before[:, begin:end], chunks.lead if begin == 0 else 0)
            run = functools.partial(self._upper_blocks, out=hidden[:, t0:t1]) if in_place else self._upper_blocks
            part, states = stack(self, "upper", run, part, states)
            parts.append(part)
        chunks.supervisor = steps.states[-1:].to(steps.dtype).to(chunks.supervisor.dtype)   # as forward's output
        return (hidden if in_place else torch.cat(parts, dim=1)), states

    def _feature_sums(self, lower_out: torch.Tensor, input_ids: torch.Tensor, run: int, lead: int = 0,
                      carried: torch.Tensor | None = None):
        """`sum_runs` of the chunk features (`_chunk_features`) over runs of `run` tokens: (B, n_runs, F) float32.
        With `carried` (B, F), a partial sum from earlier pieces added to the first run: (sums, their means over
        the tokens each run has seen, earlier pieces included)."""
        if lower_out.is_cuda and not torch.is_grad_enabled():
            from . import triton_ops
            if triton_ops.available():                 # GPU inference: one pass, the features never written out
                lexical = self.lexical
                args = (lower_out, input_ids, run, lead, self.embedding.table.weight if lexical else None,
                        lexical.token_weight if lexical else None)
                return triton_ops.feature_sums(*args) if carried is None else triton_ops.feature_means(*args, carried)
        sums = sum_runs(self._chunk_features(lower_out, input_ids), run, lead)
        if carried is None:
            return sums
        sums[:, 0] += carried
        starts = torch.arange(sums.shape[1], device=sums.device) * run
        counts = (torch.clamp(starts + run, max=lead + lower_out.shape[1]) - starts).float()
        return sums, sums / counts.view(1, -1, 1)

    def _chunk_features(self, lower_out: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
        """What is averaged over a chunk, per token (B, T, F) float32: the lower blocks' output, and the token's
        lexical vector when the model has a lexical bag."""
        if self.lexical is None:
            return lower_out.float()
        lexical = self.lexical.token_vectors(self.embedding.table(input_ids), input_ids)
        return torch.cat([lower_out.float(), lexical], dim=-1)

    def _embed_chunks(self, means: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Chunk features averaged over each chunk (..., F) -> (contextual summary (..., D), embedding (..., E))."""
        summary, bag = means.split([self.config.d_model, means.shape[-1] - self.config.d_model], dim=-1)
        lexical = linear(bag, self.lexical.out.weight) if self.lexical is not None else None
        return summary, self.chunk_head(summary, lexical)

    def _chunk_step(self, lower_out: torch.Tensor, input_ids: torch.Tensor, state: StreamState,
                    defer_gru: bool = False) -> "_ChunkStep":
        """Chunk summaries, embeddings, memory retrieval and the supervisor for the chunks this piece touches.

        With defer_gru, where the persistent GRU applies, its steps are prepared but not launched: the result's
        `gru_steps` fills `state_before` (a view of its states) as `_upper_beside_gru` launches them."""
        C = self.config.chunk_size
        length = lower_out.shape[1]
        start, end = state.position, state.position + length
        first_chunk = start // C
        lead = start - first_chunk * C                                 # its tokens read in earlier pieces
        n_touched = (end - 1) // C - first_chunk + 1
        n_finished = end // C - first_chunk

        sums, means = self._feature_sums(lower_out, input_ids, C, lead, state.chunk_sum)   # (B, n_touched, F) each
        summaries, keys = self._embed_chunks(means)                    # (B, touched, D), (B, touched, E)

        h_before = state.supervisor.unsqueeze(1)                       # (B, 1, S)
        supervisor = state.supervisor
        steps = None
        if n_finished:
            inputs = (summaries[:, :n_finished].to(lower_out.dtype), keys[:, :n_finished], state.memory,
                      state.supervisor)
            steps = self.supervisor.prepared_steps(*inputs) if defer_gru else None
            if steps is not None:                                      # h0, then h after each chunk (B, finished + 1, S)
                h_before = steps.states.unsqueeze(0)                   # (its h0 is the state in the fused dtype:
            else:                                                      # the same once cast for the injection)
                h_after = self.supervisor(*inputs)                     # (B, finished, S)
                h_before = torch.cat([h_before, h_after.to(h_before.dtype)], dim=1)
                supervisor = h_after[:, -1].to(state.supervisor.dtype)
            state.memory.add(keys[:, :n_finished])
        chunk_sum = sums[:, -1] if end % C else torch.zeros_like(state.chunk_sum)
        return _ChunkStep(keys, n_finished, h_before[:, :n_touched], lead, chunk_sum, supervisor, steps)

    # ---- encoding for retrieval ------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_document(self, token_ids, state: StreamState | None = None, piece_tokens: int = 4096) -> EncodeResult:
        """Read a whole document (or its continuation from `state`) and return one embedding per chunk.

        Memory use does not grow with length beyond the chunk embeddings: pieces of `piece_tokens` are streamed.
        """
        ids = torch.as_tensor(token_ids, dtype=torch.long).reshape(1, -1)
        state = state or self.init_state(1)
        first_chunk = state.position // self.config.chunk_size
        pieces = []
        with self.inference_autocast():
            for start in range(0, ids.shape[1], piece_tokens):
                piece = ids[:, start:start + piece_tokens].to(self.device)
                last = start + piece_tokens >= ids.shape[1]
                out, state = self.forward_stream(piece, state, flush=last, return_logits=False)
                pieces.append(out.chunk_embeddings[0].float().cpu())
        embeddings = torch.cat(pieces) if pieces else torch.zeros(0, self.config.embed_dim)
        return EncodeResult(embeddings, first_chunk, state)

    @torch.no_grad()
    def encode_spans(self, token_ids, span_tokens: int = 32, stride_tokens: int | None = None,
                     piece_tokens: int = 4096) -> torch.Tensor:
        """Embeddings of the document's `span_tokens`-token spans starting every `stride_tokens` tokens (default: no
        overlap), the document read whole: the external memory at a finer resolution than chunks, so that a fact a
        few tokens long is not averaged away by the chunk around it. Span k covers tokens [k * stride, k * stride +
        span) (the last spans are cut at the end); spans go through the same head as chunks.  -> (n, E) on CPU.

        With a stride of span_tokens / 4, every run of up to 3/4 span_tokens tokens lies whole inside some span.
        """
        stride = stride_tokens or span_tokens
        if span_tokens % stride or piece_tokens % stride:
            raise ValueError(f"span_tokens ({span_tokens}) and piece_tokens ({piece_tokens}) must be multiples of "
                             f"the stride ({stride})")
        ids = torch.as_tensor(token_ids, dtype=torch.long).reshape(1, -1)
        states = [BlockState() for _ in self.lower]
        step_sums = []                                                 # feature sums over each stride of tokens
        with self.inference_autocast():
            for start in range(0, ids.shape[1], piece_tokens):
                piece = ids[:, start:start + piece_tokens].to(self.device)
                x, states = self._lower_blocks(piece, states)
                step_sums.append(self._feature_sums(x, piece, stride)[0])
            if not step_sums:
                return torch.zeros(0, self.config.embed_dim)
            return self._embed_spans(torch.cat(step_sums)[None], span_tokens, stride, ids.shape[1])[0].float().cpu()

    def span_embeddings(self, input_ids: torch.Tensor, span_tokens: int) -> torch.Tensor:
        """What `encode_spans` stores, differentiable, for training: (B, L) read whole by the lower blocks ->
        (B, ceil(L / span_tokens), E), one embedding per span of span_tokens tokens (no overlap)."""
        x, _ = self._lower_blocks(input_ids, [BlockState() for _ in self.lower])
        steps = self._feature_sums(x, input_ids, span_tokens)
        return self._embed_spans(steps, span_tokens, span_tokens, input_ids.shape[1])

    def _embed_spans(self, steps: torch.Tensor, span_tokens: int, stride: int, length: int) -> torch.Tensor:
        """Feature sums over each stride of a document (B, n_steps, F) -> embeddings (B, n_steps, E) of the spans of
        span_tokens tokens starting at each stride (the last ones cut at `length`)."""
        per_span = span_tokens // stride
        padded = F.pad(steps, (0, 0, 0, per_span - 1))
        sums = sum(padded[:, j:j + steps.shape[1]] for j in range(per_span))
        starts = torch.arange(steps.shape[1], device=steps.device) * stride
        counts = (torch.clamp(starts + span_tokens, max=length) - starts).float().view(1, -1, 1)
        return self._embed_chunks(sums / counts)[1]

    def embed_tokens(self, token_lists: list[list[int]], max_tokens: int | None = None) -> torch.Tensor:
        """Texts alone through the lower blocks, mean-pooled, chunk head: (n, E) on the model's device, differentiable."""
        max_tokens = max_tokens or self.config.chunk_size
        token_lists = [ids[:max_tokens] or [self.config.vocab_size - 1] for ids in token_lists]
        longest = max(map(len, token_lists))
        ids = torch.zeros(len(token_lists), longest, dtype=torch.long)
        mask = torch.zeros(len(token_lists), longest)
        for row, tokens in enumerate(token_lists):
            ids[row, : len(tokens)] = torch.tensor(tokens)
            mask[row, : len(tokens)] = 1.0
        ids, mask = ids.to(self.device), mask.to(self.device)
        x = self.embedding(ids)
        for block in self.lower:                                       # causal: right padding never leaks left
            x, _ = block(x)
        means = (self._chunk_features(x, ids) * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
        return self._embed_chunks(means)[1]

    @torch.no_grad()
    def embed_texts(self, token_lists: list[list[int]], max_tokens: int | None = None) -> torch.Tensor:
        """Embed short texts (questions, passages) alone, into the chunk-embedding space.  -> (n, E) float32 CPU."""
        if not token_lists:
            return torch.zeros(0, self.config.embed_dim)
        return self.embed_tokens(token_lists, max_tokens).float().cpu()

    # ---- generation ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, prompt_ids: list[int], max_new_tokens: int = 50, temperature: float = 1.0,
                 top_k: int | None = 50, generator: torch.Generator | None = None) -> list[int]:
        """Continue a prompt; each new token costs one streaming step (constant work, whatever the length)."""
        state = self.init_state(1)
        ids = torch.as_tensor(prompt_ids, dtype=torch.long, device=self.device).reshape(1, -1)
        out, state = self.forward_stream(ids, state)
        generated = []
        for _ in range(max_new_tokens):
            logits = out.logits[0, -1, : self.config.vocab_size].float()
            if temperature <= 0:
                next_id = int(logits.argmax())
            else:
                logits = logits / temperature
                if top_k:
                    cutoff = logits.topk(min(top_k, logits.numel())).values[-1]
                    logits = logits.masked_fill(logits < cutoff, float("-inf"))
                next_id = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator))
            generated.append(next_id)
            if len(generated) < max_new_tokens:  # the last token needs no logits after it
                out, state = self.forward_stream(torch.tensor([[next_id]], device=self.device), state)
        return generated

    # ---- checkpoints -----------------------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """16 hex characters naming these weights and this config (sha256 over both); reads every weight: keep it."""
        digest = hashlib.sha256(self.config.to_json().encode())
        for name, tensor in self.state_dict().items():
            tensor = tensor.detach().cpu().contiguous()
            digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()[:16]

    def save_pretrained(self, directory: str | Path) -> Path:
        """Weights as safetensors (the embedding table in bfloat16, the rest float32) plus config.json."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {name: (t.to(torch.bfloat16) if name == "embedding.table.weight" else t.float()).contiguous().cpu()
                   for name, t in self.state_dict().items()}
        save_file(tensors, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
        (directory / CONFIG_FILE).write_text(self.config.to_json())
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path | None = None, device: str | torch.device = "cpu") -> "NonAttnLM":
        """Load a checkpoint directory; with no argument, the default checkpoint shipped in the package."""
        from safetensors.torch import load_file

        directory = checkpoint_directory(directory)
        try:
            model = cls(NonAttnConfig.from_dict(json.loads((directory / CONFIG_FILE).read_text())))
            weights = {k: v.float() for k, v in load_file(str(directory / WEIGHTS_FILE)).items()}
            model.load_state_dict(weights)
        except Exception as error:  # what checkpoint_directory cannot see cheaply: weights of another shape
            raise _damaged(directory, error) from None
        return model.to(device).eval()


def _through_blocks(blocks: nn.ModuleList, x: torch.Tensor, states: list[BlockState]) -> tuple[torch.Tensor, list]:
    """x through each block in turn with its state; returns x and the blocks' new states."""
    new_states = []
    for block, block_state in zip(blocks, states):
        x, new_block_state = block(x, block_state)
        new_states.append(new_block_state)
    return x, new_states


def sum_runs(features: torch.Tensor, run: int, lead: int = 0) -> torch.Tensor:
    """Sums over consecutive runs of `run` positions: (B, T, F) -> (B, ceil((lead + T) / run), F), the first run
    short of its first `lead` positions (a chunk begun in an earlier piece), the last one cut at T.

    The piece is zero-padded to whole runs and each run summed in a fixed order, so the same input gives the same
    bits (unlike an atomic scatter-add).
    """
    batch, length, width = features.shape
    n_runs = -(-(lead + length) // run)
    padded = F.pad(features, (0, 0, lead, n_runs * run - lead - length))
    return padded.view(batch, n_runs, run, width).sum(2)


# Share of a piece's chunks in the upper blocks' span run beside the GRU, for pieces of at most LONG_PIECE tokens
# and for longer ones (0: off). Measured on an H100 (runs/gpu27): 32K best at 0.25 of 0.125-0.5, 1M at 0.5.
UPPER_FIRST_SPAN = (0.25, 0.5)
LONG_PIECE = 1 << 17
# Shorter pieces run the GRU, then the upper blocks: at 8K and 16K tokens the split cost more than the GRU steps it
# hid (bench graph +0.07 / +0.07 ms, runs/gpu27/ab_run7.txt); from 32K on it pays.
UPPER_BESIDE_MIN_CHUNKS = 128
# The same two settings where the GRU runs in one thread-block cluster (cuda_gru.py, Hopper; ~0.6 us a step against
# ~2 for the Triton kernel above): the whole GRU over a 32K piece now costs less than splitting the upper blocks
# (32K graphed 1.69 ms unsplit against 1.74-1.75 with shares 0.0625-0.25), 128K is best at 0.125, 1M at 0.25
# (runs/gpu30/ab_run4.txt).
UPPER_FIRST_SPAN_CLUSTER_GRU = (0.125, 0.25)
UPPER_BESIDE_MIN_CHUNKS_CLUSTER_GRU = 256
_gru_streams: dict = {}


def _upper_beside_gru_share(x: torch.Tensor, chunk_size: int, supervisor_dim: int) -> float:
    """The share of the piece's chunks in `_upper_beside_gru`'s first span, 0 where that split does not apply:
    GPU inference with Triton, batch 1, enough chunks for the GRU this piece runs (cluster or Triton kernel)."""
    if not (x.is_cuda and not torch.is_grad_enabled() and x.shape[0] == 1):
        return 0.0
    from . import cuda_gru, triton_ops
    if not triton_ops.available():
        return 0.0
    in_cluster = cuda_gru.applies(supervisor_dim, x.device)
    shares = UPPER_FIRST_SPAN_CLUSTER_GRU if in_cluster else UPPER_FIRST_SPAN
    shortest = UPPER_BESIDE_MIN_CHUNKS_CLUSTER_GRU if in_cluster else UPPER_BESIDE_MIN_CHUNKS
    return shares[x.shape[1] > LONG_PIECE] if x.shape[1] >= shortest * chunk_size else 0.0


def _gru_stream(device: torch.device) -> torch.cuda.Stream:
    """The second stream the GRU runs on beside the upper blocks, high priority: the GRU's few programs are
    scheduled before the blocks' many (its steps are the critical path)."""
    if device not in _gru_streams:
        _gru_streams[device] = torch.cuda.Stream(device, priority=-1)
    return _gru_streams[device]


def _stack_replays(first: torch.Tensor) -> bool:
    """Whether `cuda_graphs.graphed_blocks` may replay a graph for this stack input (else it calls the stack)."""
    from .cuda_graphs import graphs_apply
    return graphs_apply(first)


def _plain_stack(model, tag, run, first, states):
    """A block stack called directly (`cuda_graphs.graphed_blocks` replays it as a CUDA graph on GPUs)."""
    return run(first, states)


def next_token_loss(logits: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of position t's logits against token t+1 (a shift of zero would teach copying)."""
    return F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), input_ids[:, 1:].flatten())


@dataclass
class _ChunkStep:
    keys: torch.Tensor          # (B, touched, E) embeddings of every chunk this piece touches
    n_finished: int             # the first n_finished of them are complete
    state_before: torch.Tensor  # (B, touched, S) supervisor state each touched chunk's tokens are conditioned on
    lead: int                   # tokens of the first touched chunk read in earlier pieces
    chunk_sum: torch.Tensor     # (B, D) carried sum of the unfinished chunk
    supervisor: torch.Tensor    # (B, S) state after the last finished chunk
    gru_steps: object = None    # triton_ops.PersistentGRU prepared, not launched (defer_gru): state_before views
                                # its states, `supervisor` is set once its steps have run

