"""`manage.py agent` and `run.sh agent`: what they refuse, and an agent talking to Redis over TLS with a password."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys

import pytest
from celery import Celery

from deployments.models import DockerHost
from tests.support.fleet import password_redis, running_agent
from tests.support.processes import ROOT, product_env, wait_for
from tests.support.processes import test_database_url as database_url


def run(argv: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess:
    environment = product_env(tmp_path / "data", **env)
    return subprocess.run(argv, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False)


def test_the_agent_refuses_sqlite_with_a_clear_message(tmp_path):
    result = run([sys.executable, "manage.py", "agent", "--host", "edge-1"], tmp_path, DATABASE_URL="")
    assert result.returncode == 1
    assert "fleet mode needs PostgreSQL" in result.stderr and "DATABASE_URL=postgres://" in result.stderr


def test_the_agent_refuses_a_name_that_is_not_a_queue_name(tmp_path):
    result = run([sys.executable, "manage.py", "agent", "--host", "Edge 1"], tmp_path)
    assert result.returncode == 1 and "--host must be a lowercase name" in result.stderr


def test_run_sh_agent_says_what_it_needs_from_the_central_server(tmp_path):
    result = run([sys.executable, "-m", "dashboard.launcher", "agent", "edge-1"], tmp_path, REDIS_URL="")
    assert result.returncode == 2 and "set REDIS_URL" in result.stderr


def test_an_agent_without_the_ca_cannot_reach_a_tls_redis(tmp_path):
    probe = "from updater_project.celery import app; app.connection().ensure_connection(max_retries=0)"
    with password_redis(tmp_path / "redis", tls=True) as redis_:
        refused = run([sys.executable, "-c", probe], tmp_path, REDIS_URL=redis_.url)
        trusted = run(
            [sys.executable, "-c", probe], tmp_path, REDIS_URL=redis_.url, UPDATER_REDIS_CA_FILE=redis_.ca_file
        )
    assert refused.returncode != 0 and "certificate verify failed" in refused.stderr
    assert trusted.returncode == 0, trusted.stderr[-2000:]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_an_agent_works_over_redis_with_tls_and_a_password(tmp_path):
    with (
        password_redis(tmp_path / "redis", tls=True) as redis_,
        running_agent(
            "tlsbox", tmp_path, REDIS_URL=redis_.url, UPDATER_REDIS_CA_FILE=redis_.ca_file, UPDATER_HOST_HEARTBEAT="1"
        ) as agent,
    ):
        host = wait_for(lambda: DockerHost.objects.filter(name="tlsbox").first(), timeout=60, message="registration")
        assert host.engine_version and host.agent.startswith("agent-tlsbox@")
        tls = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": redis_.ca_file}
        with Celery(broker=redis_.url, broker_use_ssl=tls) as central:  # what beat sends, over TLS
            central.send_task("deployments.tasks.reconcile_host", args=[host.pk], queue=host.queue)
        wait_for(
            lambda: "deployments.tasks.reconcile_host" in agent.text() and "succeeded" in agent.text(),
            timeout=60,
            message="the agent to take its host's task from the TLS broker",
        )
        assert "rediss://" in agent.text() and redis_.url.split("@")[0].split(":")[-1] not in agent.text()
        first = host.last_heartbeat_at
        wait_for(
            lambda: DockerHost.objects.get(name="tlsbox").last_heartbeat_at > first, timeout=10, message="a heartbeat"
        )


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_run_sh_agent_supervises_the_agent_and_stops_it_cleanly(tmp_path):
    env = product_env(tmp_path / "data", DATABASE_URL=database_url(), UPDATER_HOST_HEARTBEAT="1")
    log = tmp_path / "run-agent.log"
    with log.open("wb") as sink:
        launcher = subprocess.Popen(
            [str(ROOT / "scripts/run.sh"), "agent", "edge-9"], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: DockerHost.objects.filter(name="edge-9").exists(), timeout=120, message="the agent's host row")
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        if launcher.poll() is None:
            launcher.kill()
    text = log.read_text()
    assert "agent of host edge-9: consuming host.edge-9" in text and "launcher: stopped" in text
