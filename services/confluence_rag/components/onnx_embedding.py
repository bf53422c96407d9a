"""The embedding model run by ONNX Runtime instead of PyTorch (EMBEDDING_BACKEND=onnx | onnx-int8).

`OnnxEncoder` reproduces what sentence-transformers does for a Transformer → Pooling (→ Normalize)
model: the model's own tokenizer, truncation at its `max_seq_length` (256 for MiniLM), the exported
transformer (`onnx_export.py`), mean (or CLS) pooling over the attention mask, L2 normalisation
(LlamaIndex's HuggingFaceEmbedding always normalises). It offers the part of SentenceTransformer's
interface the rest of the code uses (`encode`, `tokenizer`, `max_seq_length`,
`get_embedding_dimension`); `encoder_embedding.EncoderEmbedding` is the LlamaIndex embedding around it.

onnxruntime is imported in two modules, here and in `onnx_export.py` (optimizer, quantization), both
lazily and after `confluence_rag/__init__.py` has set ORT_DISABLE_TELEMETRY (without it, importing
onnxruntime writes a device id under ~/.cache and tries to reach Microsoft).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def _pooling_mode(model_dir: Path) -> str:
    """`mean` or `cls`, from the model's sentence-transformers Pooling config (default: mean)."""
    modules = model_dir / "modules.json"
    if not modules.exists():
        return "mean"
    for module in json.loads(modules.read_text()):
        if module["type"].endswith("Pooling"):
            config = json.loads((model_dir / module["path"] / "config.json").read_text())
            legacy = {"cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens"}
            mode = config.get("pooling_mode") or next((m for m, key in legacy.items() if config.get(key)), "other")
            if mode not in ("mean", "cls"):
                raise ValueError(f"pooling {mode!r} is not supported by the ONNX backend; use EMBEDDING_BACKEND=torch")
            return mode
    return "mean"


def _max_seq_length(model_dir: Path, tokenizer: Any) -> int:
    config = model_dir / "sentence_bert_config.json"
    if config.exists() and json.loads(config.read_text()).get("max_seq_length"):
        return int(json.loads(config.read_text())["max_seq_length"])
    return min(int(tokenizer.model_max_length), 512)


class OnnxEncoder:
    """Texts → normalised sentence embeddings, with an ONNX Runtime session on the CPU."""

    def __init__(self, model_dir: str, onnx_file: Path) -> None:
        import onnxruntime
        from transformers import AutoTokenizer

        self.model_dir = Path(model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.max_seq_length = _max_seq_length(self.model_dir, self.tokenizer)
        self.tokenizer.model_max_length = self.max_seq_length
        self.pooling = _pooling_mode(self.model_dir)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initializers are noise here
        self.session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self._dimension = int(self.session.get_outputs()[0].shape[-1])

    def get_embedding_dimension(self) -> int:
        return self._dimension

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Like SentenceTransformer.encode: batches of similar lengths, results in input order."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self._dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            index = order[start : start + batch_size]
            out[index] = self._encode_batch([texts[i] for i in index])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_seq_length, return_tensors="np"
        )
        feeds = {name: batch[name].astype(np.int64) for name in self.input_names}
        hidden = self.session.run(None, feeds)[0]
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = batch["attention_mask"][..., None].astype(hidden.dtype)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)
