"""translations/pipeline ships without Django (the compute service): importing it must not pull Django in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import importlib, pkgutil, sys
import translations.pipeline as pipeline
names = [m.name for m in pkgutil.walk_packages(pipeline.__path__, "translations.pipeline.") if ".tests" not in m.name]
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("django", "django_q", "rest_framework", "channels"))
print(len(names), leaked)
"""


def test_every_pipeline_module_imports_without_django_settings():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    count, leaked = result.stdout.split(" ", 1)
    assert int(count) >= 5
    assert leaked.strip() == "[]"
