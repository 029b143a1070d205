"""The GPU gate: a hand-written ONNX probe that must really run on CUDA, or the service does not start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from compute_service import gpu_gate
from compute_service.tests.serving import ROOT, TOKEN

needs_gpu = pytest.mark.skipif(os.environ.get("MANGA_TEST_GPU") != "1", reason="needs a CUDA device (MANGA_TEST_GPU=1)")


def test_the_hand_written_probe_model_is_valid_onnx_that_runs_on_the_cpu():
    assert len(gpu_gate.probe_model()) < 200
    assert gpu_gate.run_probe(("CPUExecutionProvider",)) == ["CPUExecutionProvider"]


def test_the_probe_refuses_cuda_on_a_machine_without_it():
    if os.environ.get("MANGA_TEST_GPU") == "1":
        pytest.skip("this machine has a GPU")
    with pytest.raises(gpu_gate.GpuGateError, match="CUDAExecutionProvider"):
        gpu_gate.run_probe()


def test_the_service_refuses_to_start_when_the_gpu_is_required_but_onnxruntime_cannot_use_it():
    if os.environ.get("MANGA_TEST_GPU") == "1":
        pytest.skip("this machine has a GPU")
    env = {**os.environ, "MANGA_INTERNAL_API_TOKEN": TOKEN, "MANGA_REQUIRE_GPU": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "compute_service", "--host", "127.0.0.1", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "refuses to start: MANGA_REQUIRE_GPU is set and CUDAExecutionProvider" in result.stderr


def test_the_build_time_check_names_the_missing_cuda_libraries():
    if os.environ.get("MANGA_TEST_GPU") == "1":
        pytest.skip("this machine has a GPU")
    with pytest.raises(gpu_gate.GpuGateError, match=r"missing: .*libcu"):
        gpu_gate.check_libraries()


@pytest.mark.gpu
@needs_gpu
def test_on_a_gpu_the_probe_runs_on_cuda_and_the_libraries_resolve():
    assert gpu_gate.run_probe()[0] == "CUDAExecutionProvider"
    gpu_gate.check_libraries()
