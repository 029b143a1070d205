"""In-process counters and gauges of the compute service, rendered in the Prometheus text format."""

from __future__ import annotations

import threading
from collections import defaultdict

HELP = {
    "compute_auth_failures_total": ("counter", "Requests refused with 401 (missing or wrong X-Internal-Token)."),
    "compute_requests_total": ("counter", "Page requests answered, by error code (ok for a success)."),
    "compute_busy_rejections_total": ("counter", "Page requests refused with 429 because every slot was taken."),
    "compute_page_seconds_sum": ("counter", "Seconds spent on answered page requests."),
    "compute_page_seconds_count": ("counter", "Page requests timed in compute_page_seconds_sum."),
    "compute_pages_in_flight": ("gauge", "Page requests holding a slot now."),
    "compute_warmup_seconds": ("gauge", "Seconds the model warm-up took in this process."),
    "compute_ready": ("gauge", "1 once the models are loaded, 0 while warming up or after a warm-up error."),
}


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # the warm-up thread writes too
        self._values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)

    def add(self, name: str, amount: float = 1.0, **labels: str) -> None:
        with self._lock:
            self._values[(name, tuple(sorted(labels.items())))] += amount

    def set(self, name: str, value: float, **labels: str) -> None:
        with self._lock:
            self._values[(name, tuple(sorted(labels.items())))] = value

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._values.get((name, tuple(sorted(labels.items()))), 0.0)

    def render(self) -> str:
        with self._lock:
            values = dict(self._values)
        lines = []
        for name, (kind, text) in HELP.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            series = sorted((labels, value) for (key, labels), value in values.items() if key == name)
            for labels, value in series or [((), 0.0)]:
                rendered = ",".join(f'{key}="{val}"' for key, val in labels)
                lines.append(f"{name}{{{rendered}}} {value:g}" if rendered else f"{name} {value:g}")
        return "\n".join(lines) + "\n"
