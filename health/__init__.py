"""Health of the installation: the checks `manage.py doctor` prints and the status page's banner reads."""
