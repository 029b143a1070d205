"""The model registry: fetching from a wheel or a URL, sha256 and size checks, clear errors; all offline."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import zipfile
from pathlib import Path

import pytest

from translations.pipeline import registry
from translations.pipeline.registry import FetchRefused, ModelMissing, ModelSpec, UrlSource, WheelSource

PAYLOAD = b"not really onnx, but bytes to verify" * 100


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_wheel(folder: Path, member: str = "tinymodels/model.bin", data: bytes = PAYLOAD) -> Path:
    """A minimal valid wheel `tinymodels==1.0` holding `member`, in `folder` (a pip --find-links mirror)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tinymodels-1.0-py3-none-any.whl"
    info = "tinymodels-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(member, data)
        wheel.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: tinymodels\nVersion: 1.0\n")
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


def wheel_spec(**overrides) -> ModelSpec:
    fields = {
        "name": "tiny",
        "filename": "tiny.bin",
        "sha256": sha(PAYLOAD),
        "size": len(PAYLOAD),
        "source": WheelSource("tinymodels", "1.0", "tinymodels/model.bin"),
    }
    return ModelSpec(**{**fields, **overrides})


@pytest.fixture
def mirror(tmp_path) -> tuple[str, ...]:
    build_wheel(tmp_path / "mirror")
    return ("--no-index", "--find-links", str(tmp_path / "mirror"))


def test_it_fetches_a_wheel_member_and_a_second_fetch_does_nothing(tmp_path, mirror):
    models = tmp_path / "models"

    assert registry.fetch(wheel_spec(), models, pip_options=mirror) is True
    written = models / "tiny.bin"
    assert written.read_bytes() == PAYLOAD
    stamp = written.stat().st_mtime_ns

    assert registry.fetch(wheel_spec(), models, pip_options=("--no-index",)) is False  # no mirror needed
    assert written.stat().st_mtime_ns == stamp
    assert registry.path_for("tiny", models, {"tiny": wheel_spec()}) == written
    assert [p.name for p in models.iterdir()] == ["tiny.bin"]  # no staging leftovers


def test_a_wrong_sha256_is_refused_and_nothing_is_written(tmp_path, mirror):
    models = tmp_path / "models"
    with pytest.raises(FetchRefused, match=r"sha256 .* is not the pinned"):
        registry.fetch(wheel_spec(sha256="0" * 64), models, pip_options=mirror)
    assert not (models / "tiny.bin").exists()


def test_a_wrong_size_is_refused(tmp_path, mirror):
    with pytest.raises(FetchRefused, match="expected 5"):
        registry.fetch(wheel_spec(size=5), tmp_path / "models", pip_options=mirror)


def test_a_missing_wheel_member_is_refused(tmp_path, mirror):
    spec = wheel_spec(source=WheelSource("tinymodels", "1.0", "tinymodels/other.onnx"))
    with pytest.raises(FetchRefused, match=r"no member 'tinymodels/other\.onnx'"):
        registry.fetch(spec, tmp_path / "models", pip_options=mirror)


def test_a_package_pip_cannot_find_is_refused(tmp_path, mirror):
    spec = wheel_spec(source=WheelSource("tinymodels", "9.9", "tinymodels/model.bin"))
    with pytest.raises(FetchRefused, match=r"pip download tinymodels==9\.9 failed"):
        registry.fetch(spec, tmp_path / "models", pip_options=mirror)


def test_a_replaced_file_is_found_bad_and_fetched_again(tmp_path, mirror):
    models = tmp_path / "models"
    models.mkdir()
    (models / "tiny.bin").write_bytes(b"x" * len(PAYLOAD))  # right size, wrong bytes
    assert registry.state_of(wheel_spec(), models) is registry.ModelState.BAD

    assert registry.fetch(wheel_spec(), models, pip_options=mirror) is True
    assert registry.state_of(wheel_spec(), models) is registry.ModelState.PRESENT


def test_a_missing_model_error_names_the_fetch_command(tmp_path):
    manifest = {"tiny": wheel_spec()}
    with pytest.raises(ModelMissing, match=r"run `python manage\.py models fetch tiny`"):
        registry.path_for("tiny", tmp_path, manifest)
    (tmp_path / "tiny.bin").write_bytes(b"short")
    with pytest.raises(ModelMissing, match=r"5 bytes, expected \d+; run `python manage\.py models fetch tiny`"):
        registry.path_for("tiny", tmp_path, manifest)


class _Files(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/model.onnx":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_it_fetches_a_url_model_and_verifies_it(tmp_path, server):
    spec = wheel_spec(source=UrlSource(f"{server}/model.onnx"))
    assert registry.fetch(spec, tmp_path) is True
    assert (tmp_path / "tiny.bin").read_bytes() == PAYLOAD
    assert registry.fetch(spec, tmp_path) is False


def test_a_url_download_with_the_wrong_checksum_or_status_is_refused(tmp_path, server):
    with pytest.raises(FetchRefused, match="not the pinned"):
        registry.fetch(wheel_spec(sha256="f" * 64, source=UrlSource(f"{server}/model.onnx")), tmp_path)
    with pytest.raises(FetchRefused, match="404"):
        registry.fetch(wheel_spec(source=UrlSource(f"{server}/gone.onnx")), tmp_path)
    assert not (tmp_path / "tiny.bin").exists()


def test_an_unpinned_model_is_never_downloaded(tmp_path):
    spec = wheel_spec(sha256=None, size=None, optional=True, source=UrlSource("http://127.0.0.1:9/never"))
    with pytest.raises(FetchRefused, match=r"no pinned sha256 .* refusing to download it unverified"):
        registry.fetch(spec, tmp_path)


def test_the_manifest_only_lets_optional_models_go_unpinned(tmp_path):
    entry = {"filename": "a.onnx", "sha256": None, "size": None, "source": {"url": "http://example.invalid/a"}}
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"a": {**entry, "optional": True}}))
    assert registry.load_manifest(path)["a"].optional
    path.write_text(json.dumps({"a": entry}))
    with pytest.raises(ValueError, match="only optional models may be unpinned"):
        registry.load_manifest(path)


def test_the_shipped_manifest_pins_every_required_model():
    specs = registry.default_manifest()
    required = [s for s in specs.values() if not s.optional]
    assert {s.name for s in required} >= {"ppocr-v6-det-small", "ppocr-v6-rec-small", "manga-bubble-seg"}
    assert all(s.sha256 and s.size and isinstance(s.source, WheelSource) for s in required)


def test_onnx_threads_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MANGA_ONNX_THREADS", "2")
    assert registry.onnx_threads() == 2
    monkeypatch.setenv("MANGA_ONNX_THREADS", "lots")
    with pytest.raises(ValueError, match="MANGA_ONNX_THREADS"):
        registry.onnx_threads()
    monkeypatch.delenv("MANGA_ONNX_THREADS")
    assert registry.onnx_threads() >= 1


def identity_model(path: Path) -> Path:
    """A one-node ONNX graph (y = x), enough to open a session."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    return path


@pytest.mark.parametrize(("settings", "spinning"), [("current", "0"), ("baseline", None)])
def test_idle_session_threads_sleep_with_the_current_settings(tmp_path, monkeypatch, settings, spinning):
    monkeypatch.setenv(registry.SETTINGS_ENV, settings)
    options = registry.onnx_session(identity_model(tmp_path / f"{settings}.onnx")).get_session_options()
    try:
        entry = options.get_session_config_entry(registry.SPINNING_ENTRY)
    except RuntimeError:  # not set: onnxruntime's default (spinning), as the baseline had before issue 13
        entry = None
    assert entry == spinning


def int8_spec(source: bytes) -> ModelSpec:
    return wheel_spec(name="manga-bubble-seg", filename="bubble.onnx", sha256=sha(source), size=len(source))


def test_an_int8_copy_is_used_only_with_a_record_of_the_pinned_source_and_settings(tmp_path):
    from translations.pipeline import quantize

    spec = int8_spec(PAYLOAD)
    (tmp_path / "bubble.onnx").write_bytes(PAYLOAD)
    assert quantize.usable_int8(spec, tmp_path) is None  # no copy yet: the fp32 file runs
    (tmp_path / "bubble.int8.onnx").write_bytes(b"int8")
    assert quantize.usable_int8(spec, tmp_path) is None  # a copy without its record is half made
    record = {"source": "bubble.onnx", "source_sha256": spec.sha256, "quantization": quantize.QUANTIZATION}
    quantize.record_path(spec, tmp_path).write_text(json.dumps(record), encoding="utf-8")
    assert quantize.usable_int8(spec, tmp_path) == tmp_path / "bubble.int8.onnx"
    assert quantize.usable_int8(int8_spec(b"re-pinned weights"), tmp_path) is None  # made from other weights
    stale = {**record, "quantization": {**quantize.QUANTIZATION, "version": 0}}
    quantize.record_path(spec, tmp_path).write_text(json.dumps(stale), encoding="utf-8")
    assert quantize.usable_int8(spec, tmp_path) is None  # made with other settings
