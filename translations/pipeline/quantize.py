"""INT8 copies of the detection models, made at install time from the pinned fp32 weights.

`manage.py models quantize` runs onnxruntime's static quantization (QDQ, per-channel int8 weights, uint8
activations) on the balloon segmenter and the line detector, calibrated on the bundled demo pages
(`demo/wikipe-tan`, CC BY-SA 3.0, which are not scored), each preprocessed exactly as the detector does. Each copy
is written next to its source as `<stem>.int8.onnx` (saved already optimised, so it loads fast), with
`<stem>.int8.json` recording the sha256 of the source it
was made from and the settings; the pipeline uses a copy only when that record names the pinned source and the
current settings (`usable_int8`), so a re-pinned model never runs with a stale copy. Recognition (OCR) stays fp32:
its character error rate is what the quantized copy would pay for.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from translations.pipeline.registry import ModelSpec, int8_filename, path_for, sha256_of

CALIBRATION_DIR = Path(__file__).resolve().parents[2] / "demo" / "wikipe-tan"
QUANTIZATION = {
    "format": "QDQ",
    "weights": "int8 per-channel",
    "activations": "uint8",
    "optimised": "extended, CPU provider",
    "version": 3,
}
MIN_OPSET = 13  # per-channel DequantizeLinear (its `axis`) needs opset 13


def _balloon_inputs(model_path: Path) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    from translations.pipeline.detection import BalloonSegmenter

    segmenter = BalloonSegmenter(model_path)
    return lambda page: {"images": segmenter.blob(page)[0]}


def _line_inputs(model_path: Path) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    from translations.pipeline.detection import LineDetector

    detector = LineDetector(model_path)
    return lambda page: {"x": detector.blob(page)}


# The models with an INT8 copy, and how a page becomes each one's input.
QUANTIZED: dict[str, Callable[[Path], Callable[[np.ndarray], dict[str, np.ndarray]]]] = {
    "manga-bubble-seg": _balloon_inputs,
    "ppocr-v6-det-small": _line_inputs,
}


class QuantizeRefused(Exception):
    """A copy that cannot be made (no calibration pages, the source is not the pinned one)."""


def record_path(spec: ModelSpec, model_dir: Path) -> Path:
    return model_dir / (Path(int8_filename(spec)).stem + ".json")


def usable_int8(spec: ModelSpec, model_dir: Path) -> Path | None:
    """The INT8 copy of `spec` in `model_dir` when it was made from the pinned source with these settings."""
    copy, record = model_dir / int8_filename(spec), record_path(spec, model_dir)
    if spec.name not in QUANTIZED or not copy.is_file() or not record.is_file():
        return None
    try:
        made = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if made.get("source_sha256") != spec.sha256 or made.get("quantization") != QUANTIZATION:
        return None
    return copy


def calibration_pages(directory: Path = CALIBRATION_DIR) -> list[np.ndarray]:
    """The demo pages and their mirror images, RGB."""
    from PIL import Image, ImageOps

    files = sorted(directory.glob("*.jpg")) if directory.is_dir() else []
    if not files:
        raise QuantizeRefused(f"no calibration pages in {directory} (the repository's demo/ folder)")
    pages = []
    for path in files:
        with Image.open(path) as img:
            page = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
        pages += [page, np.ascontiguousarray(page[:, ::-1])]
    return pages


def ensure_int8(spec: ModelSpec, model_dir: Path) -> Path | None:
    """Make the INT8 copy of `spec` unless a usable one is there; the path written, or None when none was needed."""
    if usable_int8(spec, model_dir) is not None:
        return None
    return quantize(spec, model_dir)


def quantize(spec: ModelSpec, model_dir: Path, pages: list[np.ndarray] | None = None) -> Path:
    """Write the INT8 copy of `spec` (and its record) into `model_dir`; returns the copy's path."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if spec.name not in QUANTIZED:
        raise QuantizeRefused(f"{spec.name} has no INT8 copy; quantized models: {', '.join(QUANTIZED)}")
    source = path_for(spec.name, model_dir)
    digest = sha256_of(source)
    if digest != spec.sha256:
        raise QuantizeRefused(f"{source} is not the pinned {spec.name} (sha256 {digest}); run `models fetch` first")
    to_input = QUANTIZED[spec.name](source)
    samples = [to_input(page) for page in (pages if pages is not None else calibration_pages())]

    class Pages(CalibrationDataReader):
        def __init__(self) -> None:
            self.items: Iterator[dict[str, np.ndarray]] = iter(samples)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    target = model_dir / int8_filename(spec)
    with tempfile.TemporaryDirectory(dir=model_dir, prefix=".quantize-") as tmp:
        prepared, staged = Path(tmp) / "prepared.onnx", Path(tmp) / target.name
        _at_least_opset(source, prepared)
        quant_pre_process(str(prepared), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(staged),
            Pages(),
            nodes_to_exclude=_kept_in_float(prepared, spec.name),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        # Saved with onnxruntime's extended graph optimisations applied (fusions, QDQ folded into integer
        # kernels): a worker then loads the copy in a fraction of the time. CPU-provider graphs, as the copies are
        # used on the CPU only.
        optimised = Path(tmp) / "optimised.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(optimised)
        ort.InferenceSession(str(staged), sess_options=options, providers=["CPUExecutionProvider"])
        # Same directory, so the rename is atomic; the record goes last, so a half-made copy is never used.
        os.replace(optimised, target)
    record = {"source": spec.filename, "source_sha256": digest, "quantization": QUANTIZATION}
    record_path(spec, model_dir).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return target


def _at_least_opset(source: Path, target: Path) -> None:
    """Copy `source` to `target`, converted to opset `MIN_OPSET` when older (PP-OCR exports are opset 11)."""
    import onnx
    from onnx import version_converter

    model = onnx.load(str(source))
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=MIN_OPSET)
    if opset < MIN_OPSET:
        model = version_converter.convert_version(model, MIN_OPSET)
    onnx.save(model, str(target))


def _kept_in_float(model_path: Path, name: str) -> list[str]:
    """Nodes left in fp32: the balloon segmenter's decoding head after its convolutions (box coordinates in
    pixels and class scores in 0..1 meet in one Concat; one int8 scale for both loses the scores)."""
    import onnx

    if name != "manga-bubble-seg":
        return []
    model = onnx.load(str(model_path))
    return [node.name for node in model.graph.node if node.name.startswith("/model.23/") and node.op_type != "Conv"]
