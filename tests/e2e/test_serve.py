"""The README's first command: `manage.py serve` starts Redis, migrates SQLite, web, worker and beat."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.processes import ROOT, wait_for

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_serve(tmp_path: Path, port: int, **extra_env: str) -> tuple[subprocess.Popen, Path]:
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "DATABASE_URL"}}
    env.update({"UPDATER_DATA_DIR": str(tmp_path / "data"), "CHECK_INTERVAL": "300", **extra_env})
    log = tmp_path / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), "--concurrency", "1"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def test_serve_runs_web_worker_and_beat_on_sqlite_with_a_private_redis(tmp_path):
    port = free_port()
    process, log = start_serve(tmp_path, port)
    try:
        wait_for(lambda: "is running on" in log.read_text(errors="replace") or process.poll() is not None, timeout=90)
        assert process.poll() is None, log.read_text()

        def login_page():
            try:
                return requests.get(f"http://127.0.0.1:{port}/login/", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(login_page, timeout=30, message="the web process")
        home = requests.get(f"http://127.0.0.1:{port}/", timeout=5, allow_redirects=False)
        assert home.status_code == 302 and home.headers["Location"].startswith("/login/")
        output = log.read_text(errors="replace")
        password = re.search(r"Created admin user 'admin' with password: (\S+)", output).group(1)
        assert "private redis-server" in output
        wait_for(lambda: "beat: Starting" in log.read_text(errors="replace"), timeout=30, message="beat")
        wait_for(lambda: "ready." in log.read_text(errors="replace"), timeout=30, message="the worker")

        session = requests.Session()
        page = session.get(f"http://127.0.0.1:{port}/login/", timeout=5)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = session.post(
            f"http://127.0.0.1:{port}/login/",
            data={"username": "admin", "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": f"http://127.0.0.1:{port}/login/"},
            timeout=5,
        )
        assert response.status_code == 200 and "Docker Image Updater" in response.text
        assert (tmp_path / "data" / "updater.sqlite3").exists()
    finally:
        code = stop(process)
    assert code == 0, log.read_text()[-3000:]
    # Nothing keeps running: no child of serve survives it.
    time.sleep(0.5)
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / "data")], capture_output=True, text=True).stdout
    assert not leftovers.strip(), leftovers


def test_serve_refuses_an_invalid_setting_with_a_message_naming_it(tmp_path):
    process, log = start_serve(tmp_path, free_port(), CHECK_INTERVAL="soon")
    assert process.wait(timeout=30) == 2
    assert "CHECK_INTERVAL must be a whole number" in log.read_text()


def test_serve_without_redis_says_how_to_get_one(tmp_path):
    process, log = start_serve(tmp_path, free_port(), PATH=str(tmp_path))  # no redis-server on PATH
    assert process.wait(timeout=30) != 0
    assert "Redis is required" in log.read_text()
    assert "apt-get install redis-server" in log.read_text()
