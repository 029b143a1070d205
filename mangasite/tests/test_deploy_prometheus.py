"""deploy/prometheus/: the recording rules and alerts pass `promtool check rules` and their unit tests
(series that fire and series that do not), and every series the rules read is one /metrics exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from translations.views.metrics import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")

pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian package prometheus)")

DESIGN_NAMES = {"cold_start_latency_p95", "single_page_p95", "chapter_10p_p95", "progress_delay_p95", "remote_503_rate"}


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True)  # type: ignore[list-item]


def test_the_rules_pass_promtool_check():
    result = promtool("check", "rules", "rules.yml", "alerts.yml")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


def test_the_rule_unit_tests_pass():
    result = promtool("test", "rules", "tests.yml")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_tests_fail_when_an_alert_threshold_moves(tmp_path):
    for name in ("rules.yml", "tests.yml"):
        shutil.copy(PROMETHEUS / name, tmp_path / name)
    alerts = (PROMETHEUS / "alerts.yml").read_text()
    (tmp_path / "alerts.yml").write_text(alerts.replace("remote_503_rate > 0.01", "remote_503_rate > 0.1"))

    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)

    assert result.returncode != 0
    assert "alertname: ComputeUnavailable" in result.stdout + result.stderr


def test_the_prometheus_config_loads_the_rules(tmp_path):
    for name in ("rules.yml", "alerts.yml"):
        shutil.copy(PROMETHEUS / name, tmp_path / name)
    (tmp_path / "metrics_token").write_text("a metrics token 0123456789")
    config = (PROMETHEUS / "prometheus.yml").read_text()
    (tmp_path / "prometheus.yml").write_text(config.replace("/etc/prometheus/metrics_token", "metrics_token"))

    result = promtool("check", "config", "prometheus.yml", cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_design_names_are_recorded_over_exported_series():
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"][0]["rules"]
    recorded = {rule["record"]: rule["expr"] for rule in rules}

    assert set(recorded) >= DESIGN_NAMES
    exported = set(FAMILIES)
    alerts = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"][0]["rules"]
    expressions = [*recorded.values(), *(alert["expr"] for alert in alerts)]
    for expression in expressions:
        for series in re.findall(r"\bmangasite_[a-z0-9_]+", expression):
            family = re.sub(r"_(bucket|count|sum|total)$", "", series)
            assert family in exported, f"{series} in {expression!r} is not exported by /metrics"
