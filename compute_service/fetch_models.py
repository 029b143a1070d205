"""`python -m compute_service.fetch_models [--int8 NAME …]`: fetch and verify the models, without Django (images).

`--int8` then makes the INT8 copy of each named model from its pinned weights (docs/models.md), as
`manage.py models quantize` does for the web app's workers.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from compute_service.config import ROOT
from translations.pipeline import quantize, registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compute_service.fetch_models")
    parser.add_argument("--int8", nargs="+", default=[], metavar="NAME", choices=sorted(quantize.QUANTIZED))
    args = parser.parse_args(argv)
    model_dir = Path(os.environ.get("MANGA_MODEL_DIR", "").strip() or ROOT / "data" / "models")
    specs = registry.default_manifest()
    for spec in specs.values():
        if spec.optional:
            continue
        try:
            wrote = registry.fetch(spec, model_dir)
        except registry.FetchRefused as exc:
            print(f"model {spec.name}: {exc}", file=sys.stderr)
            return 1
        print(f"model {spec.name}: {'fetched' if wrote else 'present'} and verified (sha256 {spec.sha256[:12]}…)")  # type: ignore[index]
    for name in args.int8:
        try:
            written = quantize.ensure_int8(specs[name], model_dir)
        except (quantize.QuantizeRefused, registry.ModelMissing) as exc:
            print(f"model {name}: no INT8 copy: {exc}", file=sys.stderr)
            return 1
        print(f"model {name}: INT8 copy written ({written.name})" if written else f"model {name}: INT8 copy present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
