"""`createuser` for scripting and `ensure_admin`'s first admin."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from dashboard.roles import OPERATE, role_of

pytestmark = pytest.mark.django_db


def test_createuser_with_a_password_file(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("a-long-enough-passphrase\n")
    out = io.StringIO()
    call_command("createuser", "alice", "--role", "operator", "--password-file", str(secret), stdout=out)
    alice = get_user_model().objects.get(username="alice")
    assert alice.check_password("a-long-enough-passphrase")
    assert role_of(alice) == "operator" and alice.has_perm(OPERATE) and not alice.is_staff
    assert "a-long-enough-passphrase" not in out.getvalue()


def test_createuser_generates_a_password_shown_once(monkeypatch):
    out = io.StringIO()
    call_command("createuser", "bob", "--role", "admin", "--generate", stdout=out)
    password = out.getvalue().split("Password: ", 1)[1].split()[0]
    bob = get_user_model().objects.get(username="bob")
    assert bob.check_password(password) and bob.is_staff and role_of(bob) == "admin"


def test_createuser_refuses_weak_passwords_duplicates_and_unknown_roles(tmp_path):
    weak = tmp_path / "weak"
    weak.write_text("short\n")
    with pytest.raises(CommandError, match="too short"):
        call_command("createuser", "carol", "--role", "viewer", "--password-file", str(weak))
    call_command("createuser", "dave", "--role", "viewer", "--generate", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("createuser", "dave", "--role", "viewer", "--generate", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("createuser", "erin", "--role", "root", "--generate")


def test_first_admin_password_goes_to_the_terminal_not_to_logs(monkeypatch, caplog):
    monkeypatch.delenv("UPDATER_ADMIN_PASSWORD", raising=False)
    out = io.StringIO()
    with caplog.at_level("DEBUG"):
        call_command("ensure_admin", stdout=out)
    password = out.getvalue().split("password: ", 1)[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password(password) and role_of(admin) == "admin"
    assert password not in caplog.text
