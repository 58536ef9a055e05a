"""Health checks of the installation (Docker, Compose, Redis, database, disk, keys, clock): run by the
worker and `manage.py doctor`, stored as `HealthCheck` rows, shown at /health/ and as a banner."""
