"""The agent's heartbeat: a thread of the worker that serves a Docker host (started by `HostAgent`).

A thread, not a periodic task: a task would wait behind long deploys on a busy worker and the host
would look offline while it works. It only writes its own host's row (`hosts.host_heartbeat`).
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection

from deployments import hosts

logger = logging.getLogger(__name__)
ENGINE_FACTS_EVERY = 6  # heartbeats between two reads of the engine's version (and reachability)


class HostHeartbeat(threading.Thread):
    def __init__(self, host_name: str, *, agent: str) -> None:
        super().__init__(name=f"Host agent {host_name}", daemon=True)
        self.host_name = host_name
        self.agent = agent
        self.registered = False
        self._stopped = threading.Event()

    def run(self) -> None:
        beats = 0
        while True:
            try:
                self._beat(beats)
            except Exception:  # the database may be down for a while: keep trying, the host shows offline
                logger.exception("host %s: heartbeat failed", self.host_name)
            finally:
                close_old_connections()
            beats += 1
            if self._stopped.wait(settings.HOST_HEARTBEAT_INTERVAL):
                break
        connection.close()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)

    def _beat(self, beats: int) -> None:
        if not self.registered:
            hosts.host_register(self.host_name, agent=self.agent, facts=hosts.engine_facts(with_compose=True))
            self.registered = True
            # Runs this host's agent left behind when it was killed: undone now, not at beat's next turn.
            threading.Thread(target=_reconcile_own_runs, name="Host agent start", daemon=True).start()
            return
        facts = hosts.engine_facts() if beats % ENGINE_FACTS_EVERY == 0 else None
        if not hosts.host_heartbeat(self.host_name, agent=self.agent, facts=facts):
            self.registered = False  # the row was deleted (admin): register again


def _reconcile_own_runs() -> None:
    from deployments.tasks import reconcile_own_host

    try:
        reconcile_own_host()
    except Exception:
        logger.exception("reconciling this host's runs at start failed (beat's reconcile tries again)")
    finally:
        connection.close()
