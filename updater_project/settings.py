"""Django settings: everything comes from the environment or `.updater.env` (see README, Configuration).

A bad value raises `ConfigError` naming the variable; `manage.py` and the launcher print it as one line.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import dj_database_url

from updater_project.env import ConfigError, Env

BASE_DIR = Path(__file__).resolve().parent.parent
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
    "registries",
    "deployments",
    "scanning",
    "dashboard",
    "health",
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

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:status"
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

# --- The updater itself -------------------------------------------------------------------
CHECK_INTERVAL = env.int("CHECK_INTERVAL", 300, minimum=5)
RECONCILE_INTERVAL = env.int("UPDATER_RECONCILE_INTERVAL", 30, minimum=5)

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
# Compose projects never touched (e.g. the updater's own stack): comma-separated project names.
IGNORED_PROJECTS = env.list("UPDATER_IGNORED_PROJECTS", [])

_deploy_budget = PULL_TIMEOUT + 2 * COMPOSE_TIMEOUT + HEALTH_TIMEOUT + int(STABILITY_WINDOW) + 60

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False  # the database reconciler recovers killed deploys, not redelivery loops
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = _deploy_budget
CELERY_TASK_TIME_LIMIT = _deploy_budget + 60
# Redis redelivers unacknowledged messages after this; it must outlast the hard time limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(3600, _deploy_budget * 2)}
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
