"""`python -m compute_service --host H --port P`: check the config and the GPU, warm up, serve with daphne."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from compute_service.config import ConfigError, load_config

# Daphne hands the app the body in chunks of this size; 8 KiB (its default) makes a 5 MB page 600 messages.
REQUEST_BUFFER_BYTES = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compute_service", description=__doc__)
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a container listens on every interface
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))  # Cloud Run sets PORT
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    try:
        config = load_config()
    except ConfigError as exc:
        print(f"compute_service refuses to start: {exc}", file=sys.stderr)
        return 2
    from translations.pipeline.registry import gpu_required

    if gpu_required():
        from compute_service.gpu_gate import GpuGateError, run_probe

        try:
            logging.getLogger(__name__).info("gpu gate: the probe ran on %s", run_probe())
        except GpuGateError as exc:
            print(f"compute_service refuses to start: MANGA_REQUIRE_GPU is set and {exc}", file=sys.stderr)
            return 3

    # Daphne installs Twisted's asyncio reactor on import; nothing before this line may import Twisted.
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server

    from compute_service.app import ComputeApp

    app = ComputeApp(config)
    app.start()
    Server(
        application=app,
        endpoints=build_endpoint_description_strings(host=args.host, port=args.port),
        request_buffer_size=REQUEST_BUFFER_BYTES,
        http_timeout=None,  # Cloud Run's request timeout (900 s) is the one that counts
        server_name="mangasite-compute",
    ).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
