"""Where the pipeline tests find the repository's files and the model weights, without Django settings."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
FONTS = REPO_ROOT / "fonts"
# The evaluation pages beside the checkout (../shared/evalset, or MANGA_EVALSET_DIR), as the compute image
# does not hold them.
EVALSET = Path(os.environ.get("MANGA_EVALSET_DIR") or REPO_ROOT.parent / "shared" / "evalset")


def model_dir() -> Path:
    """The weights directory: `MANGA_MODEL_DIR` as the compute image sets it, else the checkout's data/models."""
    configured = os.environ.get("MANGA_MODEL_DIR", "").strip()
    return Path(configured).resolve() if configured else (REPO_ROOT / "data" / "models").resolve()
