"""The pipeline tests run without Django: importing django (or django_q, channels, DRF) fails the run."""

from __future__ import annotations

import importlib.abc
import sys

import pytest

FORBIDDEN = ("django", "django_q", "channels", "rest_framework")


class _DjangoRefused(importlib.abc.MetaPathFinder):
    """Refuses the web stack at import time, so the failing test shows who imported it."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in FORBIDDEN:
            self.refused.append(fullname)
            raise ImportError(f"{fullname} imported during the Django-free pipeline tests")
        return None


_finder = pytest.StashKey[_DjangoRefused]()


def _leaked() -> list[str]:
    return sorted(name for name in sys.modules if name.split(".")[0] in FORBIDDEN)


def pytest_configure(config: pytest.Config) -> None:
    if leaked := _leaked():
        raise pytest.UsageError(
            f"the pipeline tests must run without Django, but {', '.join(leaked[:3])} is already imported: "
            "run `python -m pytest translations/pipeline/tests` (its own pytest.ini), not from the Django run"
        )
    config.stash[_finder] = finder = _DjangoRefused()
    sys.meta_path.insert(0, finder)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # An attempt the code under test caught (an optional import) still fails the run.
    tried = sorted(set(session.config.stash[_finder].refused) | set(_leaked()))
    if tried:
        print(f"\nERROR: imported during the Django-free pipeline tests: {', '.join(tried)}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
