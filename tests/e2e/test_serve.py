"""The README's first command: `scripts/run.sh` runs a supervised stack (private Redis, SQLite, web, worker
with beat inside); a child that dies comes back, a second start is refused, SIGTERM leaves nothing behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from dashboard.launcher.supervisor import descendants
from tests.support.processes import ROOT, wait_for
from tests.support.registry import free_port

pytestmark = pytest.mark.e2e


def stack_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "DATABASE_URL"}}
    env.update({"UPDATER_DATA_DIR": str(data_dir), "CHECK_INTERVAL": "3600", **extra})
    return env


@dataclass
class Stack:
    process: subprocess.Popen
    port: int
    data_dir: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def child(self, role: str) -> int | None:
        """The pid of the launcher's child playing `role` (web, worker, redis)."""
        for pid in descendants(self.process.pid):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                parent = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, ValueError):
                continue
            if parent != self.process.pid:
                continue
            if {"web": "daphne", "worker": "celery", "redis": "redis-server"}[role] in command:
                return pid
        return None

    def serves_login(self) -> bool:
        try:
            return requests.get(f"{self.url}/login/", timeout=3).status_code == 200
        except requests.ConnectionError:
            return False

    def log_in(self) -> requests.Session:
        password = re.search(r"Created admin user 'admin' with password: (\S+)", self.output()).group(1)
        session = requests.Session()
        page = session.get(f"{self.url}/login/", timeout=5)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = session.post(
            f"{self.url}/login/",
            data={"username": "admin", "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.url}/login/"},
            timeout=10,
        )
        assert response.status_code == 200 and "Log out" in response.text
        return session


def start_run_sh(data_dir: Path, port: int, log: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ROOT / "scripts/run.sh"), "--port", str(port)],
        cwd=ROOT,
        env=stack_env(data_dir, **extra),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, signum: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        os.kill(process.pid, signum)
    try:
        return process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("stack")
    port = free_port()
    process = start_run_sh(work / "data", port, work / "stack.log")
    running = Stack(process, port, work / "data", work / "stack.log")
    try:
        wait_for(lambda: running.serves_login() or process.poll() is not None, timeout=180, message="the web app")
        assert process.poll() is None, running.output()[-5000:]
        wait_for(lambda: "ready." in running.output(), timeout=120, message="the worker")
        yield running
    except BaseException:
        print(f"----- stack log (tail) -----\n{running.output()[-8000:]}")
        raise
    finally:
        if process.poll() is None:
            stop(process)


def test_run_sh_serves_the_status_page_to_the_admin_it_created(stack):
    home = requests.get(f"{stack.url}/", timeout=5, allow_redirects=False)
    assert home.status_code == 302 and home.headers["Location"].startswith("/login/")
    page = stack.log_in().get(f"{stack.url}/", timeout=10)
    assert page.status_code == 200 and '<span class="who">' in page.text and "<span>admin</span>" in page.text
    assert (stack.data_dir / "updater.sqlite3").exists()


def test_the_private_redis_wants_its_password_which_only_the_owner_can_read(stack):
    url_file = stack.data_dir / "redis" / "url"
    assert url_file.stat().st_mode & 0o077 == 0
    assert (stack.data_dir / "redis" / "redis.conf").stat().st_mode & 0o077 == 0
    url = url_file.read_text().strip()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=port, socket_timeout=5).ping()
    assert redis.Redis.from_url(url, socket_timeout=5).ping()


def test_beat_runs_inside_the_worker_and_the_health_checks_reach_the_health_page(stack):
    assert "beat: Starting" in stack.output()
    assert "celery beat" not in " ".join(
        Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") for pid in descendants(stack.process.pid)
    )
    wait_for(lambda: "dashboard.health.run_checks" in stack.output(), timeout=60, message="the first health check")
    session = stack.log_in()

    def health_page_lists_checks() -> bool:
        return 'data-check="docker"' in session.get(f"{stack.url}/health/", timeout=10).text

    wait_for(health_page_lists_checks, timeout=60, message="stored health results")
    page = session.get(f"{stack.url}/health/", timeout=10).text
    for name in ("compose", "redis", "database", "disk_data", "secrets", "clock"):
        assert f'data-check="{name}"' in page


def test_a_second_run_sh_in_the_same_directory_is_refused(stack, tmp_path):
    web_before = stack.child("web")
    second = start_run_sh(stack.data_dir, free_port(), tmp_path / "second.log")
    assert second.wait(timeout=120) == 3
    output = (tmp_path / "second.log").read_text()
    assert f"Docker Image Updater is already running with data in {stack.data_dir}" in output
    assert f"pid {stack.process.pid}" in output and stack.url in output
    assert stack.child("web") == web_before  # nothing of the first set was touched


@pytest.mark.parametrize("role", ["web", "worker", "redis"])
def test_a_child_that_dies_is_restarted_and_the_event_logged(stack, role):
    killed = wait_for(lambda: stack.child(role), timeout=30, message=f"the {role} process")
    os.kill(killed, signal.SIGKILL)
    wait_for(lambda: stack.child(role) not in (None, killed), timeout=60, message=f"a new {role} process")
    assert re.search(rf"{role} \(pid {killed}\) was killed by signal 9 after \d+ s; restarting in", stack.output())
    if role == "web":
        wait_for(stack.serves_login, timeout=60, message="the restarted web app")
    if role == "worker":
        wait_for(lambda: stack.output().count("ready.") >= 2, timeout=90, message="the restarted worker")


def test_sigterm_stops_every_process_and_leaves_nothing_behind(stack):
    pids = descendants(stack.process.pid)
    assert len(pids) >= 3
    assert stop(stack.process) == 0
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and _not_zombie(pid)]
    assert not alive, alive
    output = stack.output()
    assert "SIGTERM: stopping" in output and "launcher: stopped" in output, output[-4000:]
    # Every child left on its own (the worker after its tasks, Redis after saving): none was killed.
    for role in ("web", "worker", "redis"):
        assert f"{role} stopped (exit code 0)" in output, output[-4000:]
    assert "did not stop in time" not in output
    assert not (stack.data_dir / "redis" / "url").exists()


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_serve_refuses_an_invalid_setting_with_a_message_naming_it(tmp_path):
    """`manage.py serve` is an alias of the launcher; a bad value stops it before anything starts."""
    process = subprocess.run(
        [sys.executable, "manage.py", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=stack_env(tmp_path / "data", CHECK_INTERVAL="soon"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2
    assert "CHECK_INTERVAL must be a whole number" in process.stderr


def test_launcher_without_redis_says_how_to_get_one(tmp_path):
    process = subprocess.run(
        [sys.executable, "-m", "dashboard.launcher", "--port", str(free_port())],
        cwd=ROOT,
        env=stack_env(tmp_path / "data", PATH=str(tmp_path)),  # no redis-server on PATH
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode != 0
    assert "Redis is required" in process.stderr
    assert "apt-get install redis-server" in process.stderr
