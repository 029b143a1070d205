"""The GPU gate: prove onnxruntime really runs a convolution on CUDAExecutionProvider, or refuse to start.

Listing the provider proves nothing: the GPU wheel lists CUDA even when its libraries or the
driver are missing, and then silently runs on the CPU. So the gate builds a one-node Conv model
(hand-written protobuf bytes: the `onnx` package is not a dependency), creates a session with
CUDA only and CPU fallback disabled, runs it, and checks the answer.

    python -m compute_service.gpu_gate              # the start-up gate (needs the GPU)
    python -m compute_service.gpu_gate --libraries  # the image-build gate (no GPU at build time)
"""

from __future__ import annotations

import argparse
import ctypes
import struct
import subprocess
import sys
from pathlib import Path

CUDA = "CUDAExecutionProvider"
# The driver library comes from the host at run time (Cloud Run mounts it); a build has none.
DRIVER_LIBRARY = "libcuda.so.1"
CUDNN_LIBRARY = "libcudnn.so.9"  # dlopened by the CUDA provider, so not in its ELF dependencies


class GpuGateError(Exception):
    """The CUDA provider cannot run here; the message says what failed."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)  # wire type 0: varint
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload  # wire type 2: length-delimited


def _tensor_type(name: str, dims: tuple[int, ...]) -> bytes:
    shape = b"".join(_field(1, _field(1, dim)) for dim in dims)  # TensorShapeProto.dim.dim_value
    tensor = _field(1, 1) + _field(2, shape)  # elem_type FLOAT, shape
    return _field(1, name.encode()) + _field(2, _field(1, tensor))  # ValueInfoProto name, type.tensor_type


def probe_model(weight: float = 2.0) -> bytes:
    """ModelProto bytes of y = Conv(x[1,1,4,4], w[1,1,1,1] = weight): cuDNN's kernel, the CUDA provider's core."""
    node = _field(1, b"x") + _field(1, b"w") + _field(2, b"y") + _field(4, b"Conv")
    initializer = _field(1, 1) * 4 + _field(2, 1) + _field(8, b"w") + _field(9, struct.pack("<f", weight))
    graph = (
        _field(1, node)
        + _field(2, b"gpu_gate")
        + _field(5, initializer)
        + _field(11, _tensor_type("x", (1, 1, 4, 4)))
        + _field(12, _tensor_type("y", (1, 1, 4, 4)))
    )
    opset = _field(1, b"") + _field(2, 13)
    return _field(1, 8) + _field(2, b"mangasite") + _field(7, graph) + _field(8, opset)  # IR version 8


def run_probe(providers: tuple[str, ...] = (CUDA,)) -> list[str]:
    """Run the probe on `providers` only; the providers the session used, or GpuGateError."""
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # the GPU wheel's own CUDA warnings would drown the gate's message
    if CUDA in providers:
        # Without this, a node the CUDA provider cannot take runs on the CPU and the probe would pass.
        options.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    try:
        session = ort.InferenceSession(probe_model(), sess_options=options, providers=list(providers))
        used = session.get_providers()
        if used[0] != providers[0]:
            raise GpuGateError(f"onnxruntime made the session on {used}, not {providers[0]}")
        x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
        (y,) = session.run(None, {"x": x})
    except GpuGateError:
        raise
    except Exception as exc:
        raise GpuGateError(f"{providers[0]} cannot run the probe: {type(exc).__name__}: {exc}") from None
    if not np.allclose(y, 2 * x):
        raise GpuGateError(f"{providers[0]} ran the probe but answered wrongly")
    return used


def check_libraries() -> None:
    """At image build: every library the CUDA provider needs resolves, apart from the host's driver."""
    import onnxruntime

    provider = Path(onnxruntime.__file__).parent / "capi" / "libonnxruntime_providers_cuda.so"
    if not provider.is_file():
        raise GpuGateError(f"{provider} is absent: this onnxruntime is not the GPU build")
    listing = subprocess.run(["ldd", str(provider)], capture_output=True, text=True, check=False)  # noqa: S603, S607 - fixed argv
    missing = [
        line.split()[0]
        for line in listing.stdout.splitlines()
        if "not found" in line and not line.strip().startswith(DRIVER_LIBRARY)
    ]
    try:
        ctypes.CDLL(CUDNN_LIBRARY)
    except OSError:
        missing.append(CUDNN_LIBRARY)
    if listing.returncode != 0 or missing:
        raise GpuGateError(f"the CUDA provider cannot load; missing: {', '.join(missing) or listing.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Refuse unless onnxruntime really runs on CUDA.")
    parser.add_argument("--libraries", action="store_true", help="only check the libraries (image build)")
    args = parser.parse_args(argv)
    try:
        if args.libraries:
            check_libraries()
            print("gpu gate: the CUDA provider's libraries resolve")
        else:
            print(f"gpu gate: the probe ran on {run_probe()}")
    except GpuGateError as exc:
        print(f"gpu gate refused: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
