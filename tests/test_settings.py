"""Configuration: environment over `.updater.env`, and bad values stop start-up naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from updater_project.env import ConfigError, Env, read_env_file

ROOT = Path(__file__).resolve().parents[1]


def env_of(environ=None, file_values=None) -> Env:
    return Env(environ or {}, file_values or {})


def test_environment_wins_over_the_env_file():
    assert env_of({"CHECK_INTERVAL": "60"}, {"CHECK_INTERVAL": "30"}).int("CHECK_INTERVAL", 300) == 60


def test_env_file_values_are_used_when_the_environment_has_none():
    assert env_of({}, {"CHECK_INTERVAL": "30"}).int("CHECK_INTERVAL", 300) == 30


def test_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    assert env_of({"UPDATER_SECRET_KEY_FILE": str(secret)}).str("UPDATER_SECRET_KEY") == "s3cret"


@pytest.mark.parametrize(
    ("call", "value", "message"),
    [
        (lambda e: e.int("CHECK_INTERVAL", 300, minimum=5), "soon", "CHECK_INTERVAL must be a whole number"),
        (lambda e: e.int("CHECK_INTERVAL", 300, minimum=5), "1", "CHECK_INTERVAL must be at least 5"),
        (lambda e: e.bool("CHECK_INTERVAL", False), "maybe", "CHECK_INTERVAL must be true or false"),
        (lambda e: e.choice("CHECK_INTERVAL", "a", {"a", "b"}), "c", "CHECK_INTERVAL must be one of a, b"),
    ],
)
def test_invalid_values_name_the_variable(call, value, message):
    with pytest.raises(ConfigError, match=message):
        call(env_of({"CHECK_INTERVAL": value}))


def test_env_file_parsing_handles_comments_quotes_and_export(tmp_path):
    path = tmp_path / ".updater.env"
    path.write_text("# comment\n\nexport REDIS_URL='redis://x:1/0'\nCHECK_INTERVAL=\"60\"\n")
    assert read_env_file(path) == {"REDIS_URL": "redis://x:1/0", "CHECK_INTERVAL": "60"}


def test_env_file_with_a_bad_line_names_the_file_and_line(tmp_path):
    path = tmp_path / ".updater.env"
    path.write_text("CHECK_INTERVAL=60\nnot a setting\n")
    with pytest.raises(ConfigError, match=r"\.updater\.env:2"):
        read_env_file(path)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CHECK_INTERVAL", "five", "CHECK_INTERVAL must be a whole number"),
        ("DATABASE_URL", "mysql://db/x", "DATABASE_URL must be a sqlite:// or postgres:// URL"),
        ("REDIS_URL", "http://cache", "REDIS_URL must be a redis://"),
        ("DOCKER_HOST", "ftp://x", "DOCKER_HOST must be"),
        ("UPDATER_SECRET_KEY", "short", "UPDATER_SECRET_KEY must be at least 32"),
        ("UPDATER_ENCRYPTION_KEYS", "", "UPDATER_ENCRYPTION_KEYS is required"),
        ("UPDATER_HEALTH_TIMEOUT", "0", "UPDATER_HEALTH_TIMEOUT must be at least 1"),
        ("UPDATER_PROJECTS", "shop;rm", "UPDATER_PROJECTS must list Compose project names or patterns"),
        ("UPDATER_IGNORED_PROJECTS", "a b", "UPDATER_IGNORED_PROJECTS must list Compose project names"),
    ],
)
def test_manage_py_stops_with_one_line_naming_the_variable(variable, value, message):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, variable: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("configuration error:")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
