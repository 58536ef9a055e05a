"""`manage.py rotate_keys`: after it, the old key can be dropped and every secret and run backup still opens."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from deployments.backups import open_edit, seal_edit
from deployments.compose_file import ImageEdit
from deployments.compose_file.records import JSON_VERSION
from registries.models import Registry
from registries.secrets import CredentialUndecryptable
from tests.factories import DeploymentRunFactory

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def sample_edit():
    return ImageEdit.from_json(
        {"version": JSON_VERSION, "service": "web", "old_image": "app:1.0", "new_image": "app:1.1", "changes": []}
    )


def test_rotation_re_encrypts_secrets_and_backups_under_the_newest_key(db, settings):
    settings.ENCRYPTION_KEYS = [OLD]
    row = Registry(host="ghcr.io", username="bot")
    row.set_secret("ghp_rotate-me")
    row.save()
    stamp = row.updated_at
    run = DeploymentRunFactory(file_backup=seal_edit(sample_edit()))
    settings.ENCRYPTION_KEYS = [NEW, OLD]
    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    assert "registry secrets re-encrypted: 1" in out.getvalue()
    assert "deploy-run file backups re-encrypted: 1" in out.getvalue()
    settings.ENCRYPTION_KEYS = [NEW]  # the old key is retired
    row.refresh_from_db()
    run.refresh_from_db()
    assert row.get_secret() == "ghp_rotate-me" and row.updated_at == stamp
    assert open_edit(run.file_backup).new_image == "app:1.1"


def test_a_secret_no_key_opens_is_named_and_left_alone(db, settings):
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    row = Registry(host="quay.io")
    row.set_secret("lost")
    row.save()
    settings.ENCRYPTION_KEYS = [NEW]
    with pytest.raises(CommandError, match=r"1 secret\(s\) \(registry secret of quay.io\)"):
        call_command("rotate_keys", stdout=io.StringIO())
    row.refresh_from_db()
    with pytest.raises(CredentialUndecryptable):
        row.get_secret()


def test_webhook_secrets_and_notification_urls_are_rotated_too(db, settings):
    from dashboard.models import NotificationChannel
    from registries.webhooks.services import webhook_endpoint_create

    settings.ENCRYPTION_KEYS = [OLD]
    registry = Registry.objects.create(host="harbor.example.com")
    endpoint, _ = webhook_endpoint_create(registry=registry, family="harbor", secret="Bearer hook-secret")
    channel = NotificationChannel(name="ops")
    channel.set_url("json://127.0.0.1:9/notify?token=apprise-secret")
    channel.save()
    settings.ENCRYPTION_KEYS = [NEW, OLD]
    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    assert "webhook secrets re-encrypted: 1" in out.getvalue()
    assert "notification channel URLs re-encrypted: 1" in out.getvalue()
    settings.ENCRYPTION_KEYS = [NEW]
    endpoint.refresh_from_db()
    channel.refresh_from_db()
    assert endpoint.get_secret() == "Bearer hook-secret"
    assert channel.get_url() == "json://127.0.0.1:9/notify?token=apprise-secret"
