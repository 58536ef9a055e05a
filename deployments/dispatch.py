"""Queueing deploys: only after the transaction that created the run commits."""

from __future__ import annotations

from django.db import transaction

from updater_project.celery import app

DEPLOY_TASK = "deployments.tasks.deploy"


def enqueue_deploy(run_id: int) -> None:
    # robust: with the broker down the message is lost, the pending run is not (the reconciler re-queues it)
    transaction.on_commit(lambda: app.send_task(DEPLOY_TASK, args=[run_id]), robust=True)
