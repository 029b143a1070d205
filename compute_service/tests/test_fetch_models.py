"""`python -m compute_service.fetch_models`, as the compute images run it: weights verified, the INT8 copy made once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from compute_service import fetch_models
from translations.pipeline import quantize, registry

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(os.environ.get("MANGA_MODEL_DIR") or ROOT / "data" / "models")
REQUIRED = [spec for spec in registry.default_manifest().values() if not spec.optional]
pytestmark = pytest.mark.skipif(
    any(registry.state_of(spec, MODEL_DIR) is registry.ModelState.MISSING for spec in REQUIRED),
    reason="models not fetched (make models)",
)


@pytest.fixture
def model_dir(tmp_path, monkeypatch) -> Path:
    """The fetched fp32 weights, linked into an empty folder: nothing to download, no INT8 copy yet."""
    for spec in REQUIRED:
        (tmp_path / spec.filename).symlink_to(MODEL_DIR / spec.filename)
    monkeypatch.setenv("MANGA_MODEL_DIR", str(tmp_path))
    return tmp_path


def test_the_build_step_verifies_the_weights_and_makes_the_int8_copy_once(model_dir, capsys):
    balloon = registry.default_manifest()["manga-bubble-seg"]
    assert fetch_models.main(["--int8", "manga-bubble-seg"]) == 0
    first = capsys.readouterr().out
    assert all(f"model {spec.name}: present and verified" in first for spec in REQUIRED)
    assert "model manga-bubble-seg: INT8 copy written" in first
    copy = quantize.usable_int8(balloon, model_dir)
    assert copy is not None and copy.parent == model_dir
    assert fetch_models.main(["--int8", "manga-bubble-seg"]) == 0
    assert "model manga-bubble-seg: INT8 copy present" in capsys.readouterr().out


def test_a_model_without_an_int8_copy_is_refused_by_name(model_dir):
    build = subprocess.run(
        [sys.executable, "-m", "compute_service.fetch_models", "--int8", "manga-ocr"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "MANGA_MODEL_DIR": str(model_dir)},
    )
    assert build.returncode == 2
    assert "invalid choice: 'manga-ocr'" in build.stderr
    assert not list(model_dir.glob("*.int8.onnx"))
