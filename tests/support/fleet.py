"""A fleet for e2e tests: a Redis with a password (TLS optional), a PostgreSQL role per agent, and agents run
as the product runs them (`manage.py agent --host NAME`), each with its own DOCKER_HOST and credentials."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import connection
from psycopg import sql

from tests.support.processes import ROOT, product_env, test_database_url
from tests.support.registry import free_port


@dataclass(frozen=True)
class PrivateRedis:
    url: str
    ca_file: str = ""


@contextmanager
def password_redis(work: Path, *, tls: bool = False) -> Iterator[PrivateRedis]:
    """redis-server on loopback that refuses clients without the password (and, with `tls`, without TLS)."""
    work.mkdir(parents=True, exist_ok=True)
    port, password = free_port(), secrets.token_hex(16)
    argv = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", password]
    argv += ["--dir", str(work), "--logfile", str(work / "redis.log")]
    ca_file = ""
    if tls:
        ca_file, cert, key = _certificates(work)
        argv += ["--port", "0", "--tls-port", str(port), "--tls-cert-file", cert, "--tls-key-file", key]
        argv += ["--tls-ca-cert-file", ca_file, "--tls-auth-clients", "no"]
    else:
        argv += ["--port", str(port)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_port(port, process)
        yield PrivateRedis(f"{'rediss' if tls else 'redis'}://:{password}@127.0.0.1:{port}/0", ca_file)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_port(port: int, process: subprocess.Popen, timeout: float = 10) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not listen")


def _certificates(work: Path) -> tuple[str, str, str]:
    """A private CA and a certificate for 127.0.0.1 signed by it; returns (ca, cert, key) paths."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "diut test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (work / "ca.pem", work / "redis.pem", work / "redis.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tuple(str(path) for path in paths)  # type: ignore[return-value]


def _admin() -> psycopg.Connection:
    config = connection.settings_dict
    return psycopg.connect(
        host=config["HOST"], port=config["PORT"], user=config["USER"], dbname=config["NAME"], autocommit=True
    )


@contextmanager
def agent_role(name: str) -> Iterator[str]:
    """A PostgreSQL login role of its own for one agent (rights on the product's tables); yields its URL."""
    role, password = f"diut_agent_{name.replace('-', '_')}_{secrets.token_hex(3)}", secrets.token_hex(12)
    who = sql.Identifier(role)
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(who, sql.Literal(password)))
        admin.execute(sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA public TO {}").format(who))
        admin.execute(sql.SQL("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {}").format(who))
    config = connection.settings_dict
    try:
        yield f"postgres://{role}:{password}@{config['HOST']}:{config['PORT']}/{config['NAME']}"
    finally:
        with _admin() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
            admin.execute(sql.SQL("DROP OWNED BY {}").format(who))
            admin.execute(sql.SQL("DROP ROLE {}").format(who))


def database_users() -> set[str]:
    """Who is connected to the test database now."""
    with _admin() as admin:
        rows = admin.execute("SELECT usename FROM pg_stat_activity WHERE datname = current_database()").fetchall()
    return {row[0] for row in rows if row[0]}


@dataclass
class Agent:
    name: str
    process: subprocess.Popen
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL the agent and everything it started (Compose), as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def running_agent(name: str, data_dir: Path, *, database_url: str = "", **overrides: str) -> Iterator[Agent]:
    """`manage.py agent --host NAME` as a process of its own session; its log goes to `data_dir/agent-NAME.log`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = product_env(data_dir, DATABASE_URL=database_url or test_database_url(), **overrides)
    log = data_dir / f"agent-{name}.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "agent", "--host", name, "--concurrency", "2"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    agent = Agent(name, process, log)
    try:
        yield agent
    except BaseException:
        print(f"----- agent {name} log (tail) -----\n{agent.text()[-6000:]}")
        raise
    finally:
        agent.stop()
