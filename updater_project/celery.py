"""Celery application and the beat schedule (one beat process only: see README)."""

import gc
import logging
import os
import signal
import threading

import click
from celery import Celery, beat, bootsteps, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "updater_project.settings")
# Celery's Django fixup runs Django's system checks when a worker starts, and the URL checks import the
# whole URLconf: the REST API, its OpenAPI generator, the admin and metrics views (~35 MB the worker never
# uses). `manage.py check` (scripts/test.sh, CI) and the web process's own imports cover them.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("updater")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
logger = logging.getLogger(__name__)


@app.on_after_finalize.connect
def schedule_periodic_tasks(sender: Celery, **_kwargs: object) -> None:
    from django.conf import settings

    sender.conf.beat_schedule = {
        "check-for-updates": {
            "task": "deployments.tasks.check_all",
            "schedule": float(settings.CHECK_INTERVAL),
            "options": {"expires": float(settings.CHECK_INTERVAL)},
        },
        "open-maintenance-windows": {  # deploy updates that waited for their window as soon as it opens
            "task": "deployments.tasks.open_windows",
            "schedule": 60.0,
            "options": {"expires": 60.0},
        },
        "reconcile-deployments": {
            "task": "deployments.tasks.reconcile",
            "schedule": float(settings.RECONCILE_INTERVAL),
            "options": {"expires": float(settings.RECONCILE_INTERVAL)},
        },
        "scan-maintenance": {  # requeue lost scans, fail dead ones, prune old reports
            "task": "scanning.tasks.maintain",
            "schedule": 300.0,
            "options": {"expires": 300.0},
        },
        "notifications-flush": {  # retries with backoff, digests, quiet hours
            "task": "dashboard.notifications.flush",
            "schedule": float(settings.NOTIFY_FLUSH_INTERVAL),
            "options": {"expires": float(settings.NOTIFY_FLUSH_INTERVAL)},
        },
        "watch-hosts": {  # a silent agent turns its host "offline" on the board
            "task": "deployments.tasks.watch_hosts",
            "schedule": float(settings.HOST_HEARTBEAT_INTERVAL),
            "options": {"expires": float(settings.HOST_HEARTBEAT_INTERVAL)},
        },
        "health-checks": {
            "task": "dashboard.health.run_checks",
            "schedule": float(settings.HEALTH_CHECK_INTERVAL),
            "options": {"expires": float(settings.HEALTH_CHECK_INTERVAL)},
        },
    }


@signals.worker_init.connect
def use_the_page_urlconf(**_kwargs: object) -> None:
    """A worker reverses page URLs (live pushes, notification links) but serves no API: see page_urls."""
    from django.conf import settings
    from django.urls import clear_url_caches

    settings.ROOT_URLCONF = "updater_project.page_urls"
    clear_url_caches()


@signals.worker_before_create_process.connect
def share_memory_with_pool_processes(**_kwargs: object) -> None:
    """Freeze what the worker has loaded before it forks a pool process.

    Python's cyclic GC writes to every object it scans, which copies each shared page into the child
    that scans it: frozen objects are never scanned, so pool processes keep sharing the parent's memory.
    """
    gc.collect()
    gc.freeze()


# --- Beat inside the worker (the launcher's default on one host) ----------------------------------
# `celery worker -B` forks beat as a grandchild nobody supervises and that costs its own memory. This
# runs it as a thread of the worker's main process instead; if the thread ever ends on its own, the
# worker stops, and the launcher restarts the worker (and beat with it). A fleet runs `celery beat`
# once, separately (`scripts/run.sh --beat separate`, or `--beat off` on the other hosts).
app.user_options["worker"].add(
    click.Option(["--beat-thread"], is_flag=True, default=False, help="Run beat in a thread of this worker.")
)


class _BeatThread(threading.Thread):
    def __init__(self, service: beat.Service) -> None:
        super().__init__(name="Beat", daemon=True)
        self.service = service
        self.stopping = False

    def run(self) -> None:
        self.service.app.set_current()
        try:
            self.service.start()
        except Exception:
            logger.exception("beat thread failed")
        if not self.stopping:
            logger.critical("beat thread stopped unexpectedly: stopping the worker so that it is restarted")
            os.kill(os.getpid(), signal.SIGTERM)

    def stop(self) -> None:
        self.stopping = True
        self.service.stop(wait=True)


class BeatThread(bootsteps.StartStopStep):
    """Worker bootstep: the beat scheduler as a thread (enabled by `--beat-thread`)."""

    label = "Beat thread"
    conditional = True

    def __init__(self, worker: object, beat_thread: bool = False, **options: object) -> None:
        self.enabled = beat_thread
        super().__init__(worker, **options)

    def create(self, worker: object) -> _BeatThread:
        # max_interval 1 s: the thread notices a stop within a second (as Celery's own threaded beat).
        service = beat.Service(
            worker.app,  # type: ignore[attr-defined]
            max_interval=1,
            schedule_filename=worker.schedule_filename,  # type: ignore[attr-defined]
            scheduler_cls=worker.scheduler,  # type: ignore[attr-defined]
        )
        return _BeatThread(service)


app.steps["worker"].add(BeatThread)


class ThreadPoolLimits(bootsteps.StartStopStep):
    """With `--pool threads`: time limits and the memory ceiling Celery enforces only in prefork."""

    label = "Thread pool limits"
    conditional = True

    def __init__(self, worker: object, **options: object) -> None:
        pool = getattr(worker, "pool_cls", None)
        self.enabled = getattr(pool, "__module__", "") == "celery.concurrency.thread"
        super().__init__(worker, **options)

    def start(self, worker: object) -> None:
        from django.conf import settings

        from updater_project.worker_limits import ThreadTimeLimits

        ThreadTimeLimits(app, settings.WORKER_MAX_MEMORY_MB).install()


app.steps["worker"].add(ThreadPoolLimits)


class HostAgent(bootsteps.StartStopStep):
    """Worker bootstep: the agent of the Docker host this worker's DOCKER_HOST reaches (UPDATER_LOCAL_HOST).

    A thread registers the host, heartbeats every UPDATER_HOST_HEARTBEAT seconds and refreshes the
    engine's facts; at start it asks the worker to reconcile the host's own runs. Off on a central
    worker without an engine (UPDATER_LOCAL_DOCKER=false).
    """

    label = "Host agent"
    conditional = True

    def __init__(self, worker: object, **options: object) -> None:
        from django.conf import settings

        self.enabled = bool(settings.LOCAL_HOST)
        super().__init__(worker, **options)

    def create(self, worker: object) -> threading.Thread:
        from django.conf import settings

        from deployments.agent import HostHeartbeat

        return HostHeartbeat(settings.LOCAL_HOST, agent=worker.hostname)  # type: ignore[attr-defined]


app.steps["worker"].add(HostAgent)
