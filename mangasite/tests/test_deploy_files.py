"""deploy/: the systemd units pass `systemd-analyze verify`, the compose file the Compose Specification's
schema, and the env template lists every variable docs/configuration.md documents."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("mangasite*"))
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
# Stop settings of docs/serving.md: a worker's page, gunicorn's graceful timeout + 5 s, daphne's close.
STOP_SEC = {"mangasite-web.service": 35, "mangasite-ws.service": 10, "mangasite-worker.service": 300}
STOP_GRACE = {"web": "35s", "ws": "10s", "worker": "300s", "compute": "130s"}


def unit_settings(path: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian package systemd)")
def test_the_units_pass_systemd_analyze_verify(tmp_path):
    # The shipped paths with this checkout in place of /opt/mangasite, so ExecStart's programs exist.
    env_file = tmp_path / "mangasite.env"
    env_file.write_text((DEPLOY / "mangasite.env.example").read_text())
    for unit in UNITS:
        text = unit.read_text().replace("/opt/mangasite", str(ROOT))
        (tmp_path / unit.name).write_text(text.replace("/etc/mangasite/mangasite.env", str(env_file)))
    names = [str(tmp_path / unit.name) for unit in UNITS]

    result = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", *names], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings to systemd: any output is a failure here.
    assert result.stderr.strip() == "", result.stderr
    assert {unit.name for unit in UNITS} == {
        "mangasite-web.service",
        "mangasite-ws.service",
        "mangasite-worker.service",
        "mangasite.target",
    }


def test_systemd_analyze_catches_a_broken_unit(tmp_path):
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    text = (DEPLOY / "systemd" / "mangasite-web.service").read_text().replace("/opt/mangasite", "/nonexistent")
    (tmp_path / "mangasite-web.service").write_text(text)

    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(tmp_path / "mangasite-web.service")], capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "is not executable" in result.stderr


@pytest.mark.parametrize("unit", [u for u in UNITS if u.suffix == ".service"], ids=lambda u: u.name)
def test_each_service_runs_unprivileged_hardened_and_stops_in_its_time(unit):
    settings = unit_settings(unit)

    assert settings["User"] == ["mangasite"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/mangasite/data",
        "CapabilityBoundingSet": "",
        "RestrictSUIDSGID": "yes",
    }.items():
        assert settings[key] == [value], key
    # Stop: systemd's default KillMode=control-group (the whole group gets SIGTERM), then its time.
    assert "KillMode" not in settings
    assert settings["TimeoutStopSec"] == [f"{STOP_SEC[unit.name]}s"]
    assert settings["EnvironmentFile"] == ["/etc/mangasite/mangasite.env"]


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yml").read_text())


def compose_validator() -> jsonschema.Validator:
    schema = json.loads((DEPLOY / "schema" / "compose-spec.json").read_text())
    return jsonschema.Draft201909Validator(schema, format_checker=jsonschema.FormatChecker())


def test_the_compose_file_follows_the_compose_specification():
    errors = [f"{list(e.path)}: {e.message}" for e in compose_validator().iter_errors(compose())]

    assert errors == []


def test_the_schema_check_rejects_a_broken_compose_file():
    broken = copy.deepcopy(compose())
    broken["services"]["web"]["stop_grace_period_seconds"] = 180
    broken["services"]["worker"]["healthcheck"]["retries"] = "three"

    messages = [e.message for e in compose_validator().iter_errors(broken)]

    assert any("stop_grace_period_seconds" in m for m in messages), messages
    assert any("'three'" in m for m in messages), messages


def test_the_compose_stack_has_every_part_with_healthchecks_volumes_and_stop_grace():
    worker_unit = unit_settings(DEPLOY / "systemd" / "mangasite-worker.service")
    assert f"{STOP_SEC['mangasite-worker.service']}s" == worker_unit["TimeoutStopSec"][0] == STOP_GRACE["worker"]
    services = compose()["services"]

    assert {"postgres", "redis", "setup", "web", "ws", "worker", "nginx", "compute", "prometheus"} <= set(services)
    assert services["compute"]["profiles"] == ["compute"]
    for name in ("postgres", "redis", "web", "ws", "worker", "nginx", "compute"):
        assert services[name]["healthcheck"]["test"], name
    for name, grace in STOP_GRACE.items():
        assert services[name]["stop_grace_period"] == grace, name
    # Scalable: nothing pins the worker to one container.
    assert "container_name" not in services["worker"]
    assert "ports" not in services["worker"]
    assert "data:/var/lib/mangasite/data" in services["worker"]["volumes"]
    assert "models:/var/lib/mangasite/models:ro" in services["worker"]["volumes"]
    # nginx reads the data volume only to send what Django allowed.
    assert "data:/var/lib/mangasite/data:ro" in services["nginx"]["volumes"]
    assert "--storage.tsdb.retention.time=30d" in services["prometheus"]["command"]


def documented_variables() -> set[str]:
    text = (ROOT / "docs" / "configuration.md").read_text()
    names: set[str] = set()
    for line in text.splitlines():
        cell = line.split("|")[1] if line.startswith("| `") else ""
        names.update(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", cell))
    return names


def test_the_env_template_lists_every_documented_variable():
    template = (DEPLOY / "mangasite.env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", template, re.MULTILINE))

    documented = documented_variables()

    assert len(documented) > 50
    assert documented - listed == set()
    # Nor a variable that is no longer documented (removed, or renamed). `_FILE` forms are the
    # documented secrets' file variants.
    assert {name for name in listed - documented if not name.endswith("_FILE")} == set()


def test_the_deploy_script_parses_and_records_the_deploy():
    script = DEPLOY / "deploy.sh"

    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert 'manage record_deploy --version "$VERSION"' in text
