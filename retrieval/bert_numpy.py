"""A sentence-transformers BERT model (mean pooling, unit vectors) run in numpy: the embedding tier without PyTorch.

all-MiniLM-L6-v2 is 22.7M parameters; the text tier encodes ~65 short spans per 1,000 characters
of clinical text, so the encoder is where text linking spends its time and memory. Loading
sentence-transformers imports PyTorch (a CUDA build from PyPI) and transformers: about 1.1 GB of
resident memory per process before the first span (issue 19). The same forward pass in numpy
(BLAS matrix products, the weights memory-mapped from `model.safetensors`, the Rust `tokenizers`
for word pieces) adds ~100 MB, runs about twice as fast on one core, and gives the same vectors as
sentence-transformers to within 1e-6 (`tests/retrieval/test_bert_numpy.py`), so indexes built
either way are interchangeable.

Only the architecture the default model has is handled: a `BertModel` with absolute positions and
GELU, `Pooling` by mean of tokens, then `Normalize` (`supports` checks the folder); anything else
goes to sentence-transformers.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BertNumpyEncoder", "read_safetensors", "supports"]

_BATCH = 32  # spans per forward pass: one core's caches hold its activations (faster than 128 or 256)
_ST_PREFIX = "sentence_transformers.models."


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a `.safetensors` file, memory-mapped read-only (shared by every process reading it).

    Format: an 8-byte little-endian header length, a JSON header (name → dtype, shape, byte
    offsets into the data that follows), then the raw little-endian data.
    """
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length)
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        start, end = meta["data_offsets"]
        tensors[name] = data[start:end].view("<f4").reshape(meta["shape"])
    return tensors


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def supports(folder: Path) -> bool:
    """Whether `folder` holds a model this module runs: BERT weights as safetensors, a fast tokenizer, mean pooling, normalised."""
    needed = ["config.json", "modules.json", "model.safetensors", "tokenizer.json", "1_Pooling/config.json"]
    if not all((folder / name).is_file() for name in needed):
        return False
    config, modules = _json(folder / "config.json"), _json(folder / "modules.json")
    pooling = _json(folder / "1_Pooling/config.json")
    kinds = [m.get("type", "").removeprefix(_ST_PREFIX) for m in modules]
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and kinds == ["Transformer", "Pooling", "Normalize"]
            and pooling.get("pooling_mode_mean_tokens") is True
            and not any(v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"))


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray  # (hidden, 3 × hidden): query, key and value projections side by side, transposed
    qkv_bias: np.ndarray
    out: np.ndarray
    out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    up_bias: np.ndarray
    down: np.ndarray
    down_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


class BertNumpyEncoder:
    """Texts → L2-normalised float32 vectors `(len(texts), hidden)`, as sentence-transformers encodes them.

    Cost: per span of n word pieces, about 2 × n × 1.8M multiply-adds per layer (6 layers for
    MiniLM-L6), in BLAS; spans are sorted by length and padded per batch of 32.
    """

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        config = _json(folder / "config.json")
        settings = _json(folder / "sentence_bert_config.json") if (folder / "sentence_bert_config.json").is_file() else {}
        weights = read_safetensors(folder / "model.safetensors")
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        self._heads = int(config["num_attention_heads"])
        self._eps = np.float32(config["layer_norm_eps"])
        self.dimension = int(config["hidden_size"])
        self._words = weights[f"{prefix}embeddings.word_embeddings.weight"]
        self._positions = weights[f"{prefix}embeddings.position_embeddings.weight"]
        self._token_type = weights[f"{prefix}embeddings.token_type_embeddings.weight"][0]
        self._norm0 = (weights[f"{prefix}embeddings.LayerNorm.weight"], weights[f"{prefix}embeddings.LayerNorm.bias"])
        self._layers = [self._layer(weights, f"{prefix}encoder.layer.{i}.") for i in range(int(config["num_hidden_layers"]))]
        max_length = min(int(settings.get("max_seq_length") or 512), self._positions.shape[0])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length)
        self.calls = 0

    @staticmethod
    def _layer(w: dict[str, np.ndarray], p: str) -> _Layer:
        attention = f"{p}attention.self."
        return _Layer(
            qkv=np.ascontiguousarray(np.concatenate([w[f"{attention}{n}.weight"] for n in ("query", "key", "value")]).T),
            qkv_bias=np.concatenate([w[f"{attention}{n}.bias"] for n in ("query", "key", "value")]),
            out=np.ascontiguousarray(w[f"{p}attention.output.dense.weight"].T), out_bias=w[f"{p}attention.output.dense.bias"],
            norm1=(w[f"{p}attention.output.LayerNorm.weight"], w[f"{p}attention.output.LayerNorm.bias"]),
            up=np.ascontiguousarray(w[f"{p}intermediate.dense.weight"].T), up_bias=w[f"{p}intermediate.dense.bias"],
            down=np.ascontiguousarray(w[f"{p}output.dense.weight"].T), down_bias=w[f"{p}output.dense.bias"],
            norm2=(w[f"{p}output.LayerNorm.weight"], w[f"{p}output.LayerNorm.bias"]),
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text, in order (an empty input gives a `(0, hidden)` array)."""
        self.calls += 1
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        order = np.argsort([len(i) for i in ids], kind="stable")
        for start in range(0, len(order), _BATCH):
            rows = order[start:start + _BATCH]
            out[rows] = self._forward([ids[r] for r in rows])
        return out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled, normalised last hidden states of one padded batch `(len(batch), hidden)`."""
        from scipy.special import erf

        size, length = len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((size, length), dtype=np.int64)
        mask = np.zeros((size, length), dtype=np.float32)
        for row, piece_ids in enumerate(batch):
            ids[row, :len(piece_ids)] = piece_ids
            mask[row, :len(piece_ids)] = 1.0
        x = self._words[ids] + self._positions[:length] + self._token_type
        x = self._norm(x.reshape(size * length, -1), self._norm0)
        heads, width = self._heads, self.dimension // self._heads
        scale = np.float32(1.0 / np.sqrt(width))
        padding = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]  # padded keys get no attention
        for layer in self._layers:
            qkv = (x @ layer.qkv + layer.qkv_bias).reshape(size, length, 3, heads, width)
            q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # (size, heads, length, width)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + padding
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(size * length, self.dimension)
            x = self._norm(context @ layer.out + layer.out_bias + x, layer.norm1)
            hidden = x @ layer.up + layer.up_bias
            hidden = 0.5 * hidden * (1.0 + erf(hidden * np.float32(1.0 / np.sqrt(2.0))))  # exact GELU, as BERT's
            x = self._norm(hidden @ layer.down + layer.down_bias + x, layer.norm2)
        x = x.reshape(size, length, -1)
        pooled = (x * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)  # type: ignore[no-any-return]

    def _norm(self, x: np.ndarray, affine: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        centred = x - mean
        variance = (centred * centred).mean(axis=-1, keepdims=True)
        return centred / np.sqrt(variance + self._eps) * affine[0] + affine[1]  # type: ignore[no-any-return]
