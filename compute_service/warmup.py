"""Builds the page pipeline in a background thread and runs a tiny page through it, so `/healthz` can say when.

The first request of a fresh process waits here rather than failing: that wait is what
`x-cold-start: true` reports.
"""

from __future__ import annotations

import logging
import threading
import time
from enum import StrEnum

import numpy as np

from compute_service.config import ServiceConfig
from compute_service.metrics import Metrics
from translations.pipeline import registry
from translations.pipeline.contracts import Box, TextLine
from translations.pipeline.engine import PagePipeline
from translations.pipeline.factory import build_pipeline

logger = logging.getLogger(__name__)


class WarmupState(StrEnum):
    WARMING_UP = "warming_up"
    OK = "ok"
    ERROR = "error"


class Warmup:
    def __init__(self, config: ServiceConfig, metrics: Metrics) -> None:
        self.config = config
        self.metrics = metrics
        self.state = WarmupState.WARMING_UP
        self.reason = ""
        self.providers: dict[str, list[str]] = {}  # model file → the onnxruntime providers its session uses
        self.pipeline: PagePipeline | None = None
        self._done = threading.Event()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="compute-warmup", daemon=True)
        thread.start()
        return thread

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            if self.config.test_warmup_delay_s:
                time.sleep(self.config.test_warmup_delay_s)
            pipeline = build_pipeline(
                self.config.model_dir,
                max_bytes=self.config.max_image_bytes,
                max_pixels=self.config.max_image_pixels,
            )
            _exercise(pipeline)
            self.providers = _providers()
            self.pipeline = pipeline
            self.state = WarmupState.OK
            self.metrics.set("compute_ready", 1)
        except Exception as exc:
            # Anything (a missing model, a CUDA failure) leaves the service up to say why on /healthz.
            self.reason = f"{type(exc).__name__}: {exc}"
            self.state = WarmupState.ERROR
            logger.exception("warm-up failed")
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.set("compute_warmup_seconds", round(elapsed, 3))
            logger.info("warm-up %s in %.2fs %s", self.state, elapsed, self.providers)
            self._done.set()


def _exercise(pipeline: PagePipeline) -> None:
    """Open every ONNX session: detection on a blank page, recognition on one dark bar."""
    pipeline.detector.detect(np.full((64, 64, 3), 255, np.uint8))
    strip = np.full((48, 160, 3), 255, np.uint8)
    strip[16:32, 20:140] = 0
    corners = ((0, 0), (160, 0), (160, 48), (0, 48))
    pipeline.recognizer.read(strip, (TextLine(Box(0, 0, 160, 48), corners, vertical=False),), "ja")


def _providers() -> dict[str, list[str]]:
    # The sessions the pipeline opened (an INT8 copy where one is used): asking by file name would open more.
    return registry.session_providers()
