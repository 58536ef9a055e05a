"""Typed readers for configuration from the environment and the optional `.updater.env` file.

Every reader raises `ConfigError` naming the variable, so a bad value stops start-up with one clear line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class ConfigError(Exception):
    """A configuration variable has a missing or invalid value."""


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a dotenv-style file: `KEY=value` lines, `#` comments, optional quotes, optional `export`."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ConfigError(f"{path}:{number}: expected KEY=value, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


class Env:
    """Environment variables first, then the `.updater.env` file, then the default."""

    def __init__(self, environ: Mapping[str, str], file_values: Mapping[str, str]) -> None:
        self._environ = environ
        self._file = file_values

    @classmethod
    def load(cls, base_dir: Path) -> Env:
        env_file = Path(os.environ.get("UPDATER_ENV_FILE", base_dir / ".updater.env"))
        return cls(os.environ, read_env_file(env_file))

    def raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None:
            value = self._file.get(name)
        if value is None:
            secret_file = self._environ.get(f"{name}_FILE") or self._file.get(f"{name}_FILE")
            if secret_file:
                try:
                    value = Path(secret_file).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise ConfigError(f"{name}_FILE: cannot read {secret_file}: {exc.strerror}") from exc
        return value

    def str(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.raw(name)
        if value is None or value == "":
            if required:
                raise ConfigError(f"{name} is required but not set")
            return default or ""
        return value

    def int(self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        try:
            number = int(value.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise ConfigError(f"{name} must be at most {maximum}, got {number}")
        return number

    def float(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        try:
            number = float(value.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
        if number < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {number}")
        return number

    def bool(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name} must be true or false, got {value!r}")

    def list(self, name: str, default: list[str]) -> list[str]:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return list(default)
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: str, default: str, choices: set[str]) -> str:
        value = self.str(name, default).strip()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(sorted(choices))}, got {value!r}")
        return value
