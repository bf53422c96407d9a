"""Export the embedding model to ONNX (fp32) and quantize it to int8, from its local folder.

Why our own exporter: sentence-transformers' `backend="onnx"` needs `optimum.onnxruntime`, and
optimum-onnx 0.1.0 (the newest on PyPI) requires transformers<4.58 while we run transformers 5.23,
so that route is blocked by dependencies. What we need is small: the transformer alone is exported
with torch's TorchScript-based exporter (`dynamo=False`; the dynamo exporter needs onnxscript) and
fused by ONNX Runtime's transformer optimizer; pooling and normalisation stay in numpy
(`onnx_embedding.py`), as in sentence-transformers' own ONNX files. int8 is ONNX Runtime's dynamic
quantization (int8 weights, activations quantized on the fly), which needs only the `onnx` package.

Everything reads the local model folder: nothing is downloaded. Files are written under a
temporary name and renamed, so two processes exporting at once cannot leave a half-written file.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from confluence_rag.settings import Settings

log = logging.getLogger(__name__)

BACKENDS = ("onnx", "onnx-int8")
FILE_NAMES = {"onnx": "model.onnx", "onnx-int8": "model_int8.onnx"}
# Inputs a BERT-like encoder may take; each model gets those its tokenizer produces.
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def onnx_model_path(settings: Settings, backend: str) -> Path:
    """`EMBEDDING_ONNX_DIR/<model name>/model.onnx` (backend onnx) or `model_int8.onnx` (onnx-int8)."""
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", settings.embedding_model).strip("_") or "model"
    return Path(settings.embedding_onnx_dir) / folder / FILE_NAMES[backend]


def ensure_onnx_model(model_dir: str, target: Path, *, force: bool = False) -> Path:
    """The ONNX file at `target`, exported (and quantized, for `model_int8.onnx`) if missing.

    The fp32 file is the source of the int8 one, so both end up in `target`'s folder.
    """
    fp32 = target.with_name(FILE_NAMES["onnx"])
    if force or not fp32.exists():
        export_onnx(model_dir, fp32)
    if target.name == FILE_NAMES["onnx-int8"] and (force or not target.exists()):
        quantize_int8(fp32, target)
    return target


def export_onnx(model_dir: str, target: Path) -> Path:
    """The model's transformer → ONNX (inputs as its tokenizer names them, output last_hidden_state),
    then ONNX Runtime's transformer optimizer (fused attention, layer norms, GELU).

    The model is traced with eager attention: its explicit matmul-softmax pattern is what the
    optimizer recognises and fuses (the SDPA default exports as ops it leaves alone). Measured on the
    bench corpus, fusion is what makes ONNX faster than torch at all (fp32 ~1.2×, int8 ~1.7× → ~2.4×).
    """
    import torch
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    config = AutoConfig.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    inputs = [name for name in MODEL_INPUTS if name in tokenizer.model_input_names]
    sample = tokenizer(["an example", "un exemple un peu plus long"], padding=True, return_tensors="pt")

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(inputs, args, strict=True))).last_hidden_state

    dynamic = {name: {0: "batch", 1: "sequence"} for name in [*inputs, "last_hidden_state"]}
    with tempfile.TemporaryDirectory() as tmpdir:
        raw = Path(tmpdir) / "raw.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python branches on shapes: harmless here
            torch.onnx.export(
                LastHiddenState(),
                tuple(sample[name] for name in inputs),
                str(raw),
                input_names=inputs,
                output_names=["last_hidden_state"],
                dynamic_axes=dynamic,
                opset_version=17,
                dynamo=False,
            )
        optimized = optimize_model(
            str(raw), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
        )
        with _atomic(target) as tmp:
            optimized.save_model_to_file(str(tmp))
    log.info("exported %s to %s in %.1fs", model_dir, target, time.perf_counter() - started)
    return target


def quantize_int8(source: Path, target: Path) -> Path:
    """Dynamic int8 quantization of `source` (weights int8 per channel, activations at run time)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    # The quantizer logs on the root logger: a line per fused op, and advice about pre-processing
    # that applies to static quantization. A filter on the root logger only sees those records.
    quiet = logging.Filter("confluence_rag")  # passes no record named "root"
    logging.getLogger().addFilter(quiet)
    try:
        with _atomic(target) as tmp:
            quantize_dynamic(
                str(source),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=True,  # per-tensor scales measured far worse: cosine to fp32 down to 0.83
                # Fused ops (com.microsoft domain) have no inferred output types: they are float.
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
    finally:
        logging.getLogger().removeFilter(quiet)
    log.info("quantized %s to int8 in %.1fs", target, time.perf_counter() - started)
    return target


@contextmanager
def _atomic(target: Path) -> Iterator[Path]:
    """A temporary file beside `target`, renamed onto it when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=target.stem + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)  # mkstemp makes it 0600; another user (the image's) must read it
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
