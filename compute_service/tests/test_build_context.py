"""The image build context: dict/, fonts/, the pipeline and its model manifest go in; secrets, .venv, data/ never do.

Docker is not available on the build machines, so the rules of .dockerignore (Docker's syntax) and
.gcloudignore (gitignore syntax) are evaluated here by small matchers of each syntax.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOUDRUN = ROOT / "deploy" / "cloudrun"
NEEDED = [
    "dict/README.md",
    "fonts/NotoSansCJKjp-Regular-subset.otf",
    "fonts/OFL-NotoSansCJK.txt",
    "translations/__init__.py",
    "translations/pipeline/engine.py",
    "translations/pipeline/models.json",
    "compute_service/__main__.py",
    "compute_service/contract.py",
    "requirements.lock",
    "deploy/cloudrun/requirements-gpu.txt",
    "demo/wikipe-tan/01.jpg",  # the INT8 calibration pages
]
REFUSED = [
    ".venv/bin/python",
    ".git/config",
    "data/models/bubble.onnx",
    "data/mangasite.sqlite3",
    ".env",
    "secrets/token",
    "compute_service/internal_token.txt",
    "deploy/cloudrun/gemini-secret.json",
    "translations/models.py",
    "mangasite/settings.py",
    "scraper/__init__.py",
    "compute_service/tests/test_contract.py",
    "translations/pipeline/__pycache__/engine.cpython-311.pyc",
]


def _rules(path: Path) -> list[tuple[bool, str]]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [(line.startswith("!"), line.lstrip("!")) for line in lines if line and not line.startswith("#")]


def docker_includes(path: str) -> bool:
    """Docker: the last matching pattern wins; a pattern matches the path or any of its parent directories."""
    included = True
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for negated, pattern in _rules(ROOT / ".dockerignore"):
        regex = re.compile(_glob_regex(pattern.strip("/")))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            included = negated
    return included


def gcloud_includes(path: str) -> bool:
    """gitignore: last match wins, but nothing inside an excluded directory can be re-included."""
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        is_dir = depth < len(parts)
        excluded = False
        for negated, pattern in _rules(ROOT / ".gcloudignore"):
            if pattern.endswith("/") and not is_dir:
                continue
            bare = pattern.rstrip("/")
            anchored = bare.startswith("/") or "/" in bare
            target = prefix if anchored else parts[depth - 1]
            if re.fullmatch(_glob_regex(bare.lstrip("/")), target):
                excluded = not negated
        if excluded:
            return False
    return True


def _glob_regex(pattern: str) -> str:
    out = ""
    for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
        out += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return out


@pytest.mark.parametrize("path", NEEDED)
def test_the_docker_context_keeps_what_the_service_needs(path):
    assert (ROOT / path).exists(), f"{path} is not in the repository any more: update this test"
    assert docker_includes(path)
    assert gcloud_includes(path)


@pytest.mark.parametrize("path", REFUSED)
def test_the_docker_context_drops_secrets_the_virtualenv_data_and_the_web_app(path):
    assert not docker_includes(path)
    assert not gcloud_includes(path)


def test_both_dockerfiles_copy_the_pipeline_dict_fonts_and_fetch_the_pinned_models():
    for dockerfile in ("Dockerfile.cpu", "Dockerfile.gpu"):
        text = (CLOUDRUN / dockerfile).read_text()
        for line in ("COPY translations/pipeline", "COPY dict dict", "COPY fonts fonts", "fetch_models"):
            assert line in text, (dockerfile, line)
        assert "TOKEN=" not in text and "API_KEY=" not in text
    assert "RUN python -m compute_service.gpu_gate --libraries" in (CLOUDRUN / "Dockerfile.gpu").read_text()


def test_the_service_specs_and_the_deploy_script_agree_on_the_limits_and_stay_private():
    cpu, gpu, script = ((CLOUDRUN / name).read_text() for name in ("service.yaml", "service-gpu.yaml", "deploy.sh"))
    for spec in (cpu, gpu):
        for needle in ("containerConcurrency: 1", "timeoutSeconds: 900", 'maxScale: "2"', 'cpu: "4"', "secretKeyRef"):
            assert needle in spec
    assert "memory: 8Gi" in cpu and "nvidia-l4" in gpu
    for flag in ("--no-allow-unauthenticated", "--concurrency 1", "--timeout 900", "--max-instances 2", "--cpu 4"):
        assert flag in script
    assert "--memory 8Gi" in script and "--gpu-type nvidia-l4" in script and "--set-secrets" in script
    assert "allow-unauthenticated " not in script.replace("--no-allow-unauthenticated", "")
