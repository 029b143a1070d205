"""Benchmark the compute service's round-trip overhead over the bare pipeline for one dev page (target ≤ 150 ms).

    .venv/bin/python bench/compute_roundtrip.py [--runs 7] [--threads 2] [--translator test]

Runs the page through the bare pipeline in this process and through `python -m compute_service` on
loopback (started here, warmed up), alternately and one at a time so the two never share the CPU. Reports
medians: the bare pipeline's wall, the client's round trip, their difference, the paired overhead
(round trip minus the stages the service timed for that same request), and request/response bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere
PAGE = ROOT.parent / "shared" / "evalset" / "dev" / "wikipe-tan_p1_ja.jpg"


def main() -> None:
    from translations.pipeline.translators import OFFLINE_TRANSLATORS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="MANGA_ONNX_THREADS for both sides")
    parser.add_argument("--translator", default="test", choices=OFFLINE_TRANSLATORS)
    args = parser.parse_args()
    if not PAGE.is_file():
        print(f"skipped: {PAGE} is absent")
        return
    os.environ["MANGA_ONNX_THREADS"] = str(args.threads)

    import requests

    from compute_service import contract
    from compute_service.tests.serving import MODEL_DIR, Service, models_missing
    from translations.pipeline.factory import build_pipeline, get_translator

    if reason := models_missing():
        print(f"skipped: {reason}")
        return
    data = PAGE.read_bytes()
    pipeline = build_pipeline(MODEL_DIR)
    translator = get_translator(args.translator)
    service = Service(MANGA_ONNX_THREADS=str(args.threads)).start()
    try:
        service.wait_ready()
        request = contract.PageRequest(data, "ja", "en", args.translator, context_translations=("Earlier.",))
        headers = contract.request_headers(service.env["MANGA_INTERNAL_API_TOKEN"])
        url = service.url + contract.TRANSLATE_PATH
        prepared = requests.Request("POST", url, headers=headers, **request.to_multipart()).prepare()
        session = requests.Session()
        bare, walls, paired, remote, response_bytes = [], [], [], [], 0
        # Alternate the two, one at a time: they never share the CPU, and a drift in load hits both alike.
        for _ in range(args.runs + 1):  # the first of each loads the models
            started = time.perf_counter()
            pipeline.run(data, translator=translator, source_language="ja", target_language="en")
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            response = session.send(prepared, timeout=300)
            wall = time.perf_counter() - started
            page = contract.decode_page_response(response.status_code, response.headers, response.content)
            walls.append(wall)
            paired.append(wall * 1000 - sum(page.meta.stage_elapsed_ms.values()))
            remote.append(page.meta.remote_elapsed_ms)
            response_bytes = len(response.content) + sum(len(k) + len(v) + 4 for k, v in response.headers.items())
    finally:
        service.stop()

    median_ms = lambda values: round(statistics.median(values[1:]) * 1000, 1)  # noqa: E731
    result = {
        "page": PAGE.name,
        "runs": args.runs,
        "threads": args.threads,
        "translator": args.translator,
        "bare_pipeline_ms": median_ms(bare),
        "service_roundtrip_ms": median_ms(walls),
        "overhead_ms": round(median_ms(walls) - median_ms(bare), 1),
        "paired_overhead_ms": round(statistics.median(paired[1:]), 1),
        "transport_ms": round(statistics.median([w * 1000 - r for w, r in zip(walls[1:], remote[1:], strict=True)]), 1),
        "request_bytes": len(prepared.body) + sum(len(k) + len(v) + 4 for k, v in prepared.headers.items()),  # type: ignore[arg-type]
        "response_bytes": response_bytes,
        "image_bytes_in": len(data),
        "target_ms": 150,
    }
    result["verdict"] = "ok" if max(result["overhead_ms"], result["paired_overhead_ms"]) <= 150 else "over target"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
