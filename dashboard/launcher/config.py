"""The launcher's settings: the same variables and `.updater.env` file as updater_project/settings.py."""

from __future__ import annotations

import argparse
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]

POOLS = ("prefork", "threads")
BEAT_MODES = ("embedded", "separate", "off")


def _env_module() -> ModuleType:
    """updater_project/env.py on its own: importing the package would create the Celery app (~20 MB)."""
    spec = importlib.util.spec_from_file_location("updater_env", ROOT / "updater_project" / "env.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


env_module = _env_module()
ConfigError: type[Exception] = env_module.ConfigError


@dataclass(frozen=True)
class LaunchConfig:
    """What to start and where; every field has a variable (README, Configuration)."""

    data_dir: Path
    bind: str
    port: int
    concurrency: int
    pool: str
    beat: str
    redis_url: str
    stop_timeout: int
    log_level: str

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "::") else self.bind  # noqa: S104 - a display URL
        return f"http://{host}:{self.port}/"


def load_config(argv: list[str] | None = None) -> LaunchConfig:
    """Environment and `.updater.env` give the defaults; the command line overrides them."""
    env = env_module.Env.load(ROOT)
    parser = argparse.ArgumentParser(prog="scripts/run.sh", description="Run Docker Image Updater.")
    parser.add_argument("--bind", default=env.str("UPDATER_BIND", "127.0.0.1"), help="address the web app binds")
    parser.add_argument("--port", type=int, default=env.int("UPDATER_HTTP_PORT", 8000, minimum=1, maximum=65535))
    parser.add_argument("--pool", choices=POOLS, default=env.choice("UPDATER_WORKER_POOL", "threads", set(POOLS)))
    parser.add_argument(
        "--concurrency",
        type=int,
        default=env.int("UPDATER_WORKER_CONCURRENCY", 0, minimum=1, maximum=64),
        help="tasks the worker runs at once (default: 4 threads, or 2 prefork processes)",
    )
    parser.add_argument(
        "--beat",
        choices=BEAT_MODES,
        default=env.choice("UPDATER_BEAT", "embedded", set(BEAT_MODES)),
        help="embedded: inside the worker; separate: its own process; off: another host runs it",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    if not args.concurrency:
        args.concurrency = 4 if args.pool == "threads" else 2
    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {args.concurrency}")
    return LaunchConfig(
        data_dir=Path(env.str("UPDATER_DATA_DIR", str(ROOT / "data"))).resolve(),
        bind=args.bind,
        port=args.port,
        concurrency=args.concurrency,
        pool=args.pool,
        beat=args.beat,
        redis_url=env.str("REDIS_URL", ""),
        stop_timeout=env.int("UPDATER_STOP_TIMEOUT", 60, minimum=0),
        log_level=env.choice("UPDATER_LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"}),
    )
