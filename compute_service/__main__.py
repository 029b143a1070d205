"""`python -m compute_service --host H --port P`: check the config and the GPU, warm up, serve with uvicorn.

uvicorn (h11) hands the app each request as soon as its headers are in and the body as it arrives,
so the app refuses a missing or wrong token before reading a byte of the body, and bounds how long
a body may take. daphne could not: it buffers the whole body before calling the app.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from compute_service.config import ConfigError, load_config

# A client that keeps a connection open between pages reuses it; an idle one is closed after this.
KEEP_ALIVE_S = 75
# Cloud Run gives an instance 10 s after SIGTERM: finish the page in flight, if it can, within that.
GRACEFUL_SHUTDOWN_S = 8


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

    import uvicorn

    from compute_service.app import ComputeApp

    app = ComputeApp(config)
    app.start()
    uvicorn.Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            http="h11",
            ws="none",
            lifespan="off",
            loop="asyncio",
            timeout_keep_alive=KEEP_ALIVE_S,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            server_header=False,
            log_config=None,  # the logging set up above
            access_log=False,  # the app logs one line per page
        )
    ).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
