"""`python -m compute_service.fetch_models`: fetch and verify the required models, without Django (image builds)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from compute_service.config import ROOT
from translations.pipeline import registry


def main() -> int:
    model_dir = Path(os.environ.get("MANGA_MODEL_DIR", "").strip() or ROOT / "data" / "models")
    for spec in registry.default_manifest().values():
        if spec.optional:
            continue
        try:
            wrote = registry.fetch(spec, model_dir)
        except registry.FetchRefused as exc:
            print(f"model {spec.name}: {exc}", file=sys.stderr)
            return 1
        print(f"model {spec.name}: {'fetched' if wrote else 'present'} and verified (sha256 {spec.sha256[:12]}…)")  # type: ignore[index]
    return 0


if __name__ == "__main__":
    sys.exit(main())
