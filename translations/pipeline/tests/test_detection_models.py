"""Which weights the detector loads: the balloon segmenter's INT8 copy where `make install` made it, the line
detector's fp32 file unless its own copy was made, and fp32 for both under the baseline settings."""

from __future__ import annotations

import json

import pytest

from translations.pipeline import quantize, registry
from translations.pipeline.detection import BALLOON_MODEL, LINE_MODEL, OnnxDetector
from translations.pipeline.tests.paths import model_dir


@pytest.fixture
def models(tmp_path):
    """The pinned files (linked) and a stand-in balloon copy with a valid record; sessions are not opened."""
    source = model_dir()
    specs = registry.default_manifest()
    for name in (BALLOON_MODEL, LINE_MODEL):
        if not (source / specs[name].filename).is_file():
            pytest.skip(f"models not fetched: run `python manage.py models fetch {name}`")
        (tmp_path / specs[name].filename).symlink_to(source / specs[name].filename)
    spec = specs[BALLOON_MODEL]
    (tmp_path / registry.int8_filename(spec)).write_bytes(b"stand-in")
    record = {"source": spec.filename, "source_sha256": spec.sha256, "quantization": quantize.QUANTIZATION}
    quantize.record_path(spec, tmp_path).write_text(json.dumps(record), encoding="utf-8")
    return tmp_path


def test_the_balloon_copy_runs_and_the_line_detector_stays_fp32(models, monkeypatch):
    monkeypatch.setattr(registry, "_cuda_driver_present", lambda: False)
    monkeypatch.setenv(registry.SETTINGS_ENV, "current")
    detector = OnnxDetector(models)
    assert detector.balloons.model_path.name == "bubble.int8.onnx"
    assert detector.lines.model_path.name == registry.default_manifest()[LINE_MODEL].filename


def test_the_baseline_settings_and_a_gpu_keep_the_fp32_weights(models, monkeypatch):
    monkeypatch.setattr(registry, "_cuda_driver_present", lambda: False)
    monkeypatch.setenv(registry.SETTINGS_ENV, "baseline")
    assert OnnxDetector(models).balloons.model_path.name == "bubble.onnx"
    monkeypatch.setenv(registry.SETTINGS_ENV, "current")
    monkeypatch.setattr(registry, "_cuda_driver_present", lambda: True)
    assert OnnxDetector(models).balloons.model_path.name == "bubble.onnx"
