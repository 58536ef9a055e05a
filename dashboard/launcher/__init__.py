"""The launcher `scripts/run.sh` runs: Redis, web, worker (with beat) as supervised child processes.

Plain Python on purpose: it stays resident for the product's lifetime, so it imports neither Django nor
Celery (about 60 MB of PSS it would keep for nothing). Django runs only in the children it starts.
"""
