"""The deployment files: the systemd unit and its environment file agree with the service."""

import configparser
import re
from pathlib import Path

from search.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def _environment_file() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "vnsearch.env").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z_]+", name), line
            values[name] = value
    return values


def test_the_example_environment_is_valid_and_safe():
    env = _environment_file()
    settings = Settings.from_env(env)
    assert settings.host == "127.0.0.1"  # nginx faces the clients, the service only loopback
    assert settings.log_format == "json" and not settings.log_queries


def test_every_variable_the_service_reads_is_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    used = set()
    for path in (ROOT / "search").rglob("*.py"):
        used |= set(re.findall(r"VNSEARCH_[A-Z_]*[A-Z]", path.read_text(encoding="utf-8")))
    documented = set(re.findall(r"`(VNSEARCH_[A-Z_]+)`", readme))
    assert used - documented == set()
    assert set(_environment_file()) - documented == set()


def test_the_unit_restarts_runs_unprivileged_and_reads_the_environment_file():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(DEPLOY / "vnsearch.service", encoding="utf-8")
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("", "root") and service["Group"] not in ("", "root")
    assert service["EnvironmentFile"].endswith("vnsearch.env")
    assert "search.web.gunicorn_conf" in service["ExecStart"] and "wsgi:application" in service["ExecStart"]
    assert service["Type"] == "notify" and unit["Install"]["WantedBy"] == "multi-user.target"
