"""Registries declared in `.updater.env` (or the environment): imported at start-up as read-only rows.

`scripts/generate_env.sh` writes these variables; `manage.py sync_env_registries` (run by the launcher after
`migrate`) turns them into `Registry` rows marked `managed_by_env`. A row whose variables are gone is removed;
an unchanged row is not rewritten (so cached credentials stay valid).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.db import transaction

from registries.models import Registry

Getter = Callable[[str], str]
ROLE_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")


@dataclass
class Declared:
    """One registry as the environment declares it."""

    host: str
    provider: str
    username: str = ""
    secret: str = field(default="", repr=False)
    options: dict[str, str] = field(default_factory=dict)
    insecure: bool = False


def declared_registries(get: Getter) -> list[Declared]:
    """Every registry the variables declare (missing pieces are skipped with no row)."""
    found: list[Declared] = []
    for read in (_ecr, _acr, _gcp, _harbor, _swr, _docr, _dockerhub):
        found.extend(read(get))
    return found


def sync_env_registries(get: Getter) -> list[str]:
    """Create, update or remove the `managed_by_env` rows to match the variables; return one line per change."""
    lines: list[str] = []
    declared = {item.host: item for item in declared_registries(get)}
    with transaction.atomic():
        for item in declared.values():
            row = Registry.objects.select_for_update().filter(host=item.host).first()
            if row is not None and not row.managed_by_env:
                lines.append(f"{item.host}: replaces the registry entered in the admin (the environment wins)")
            lines.extend(_apply(row or Registry(host=item.host), item))
        for row in Registry.objects.filter(managed_by_env=True).exclude(host__in=declared):
            row.delete()
            lines.append(f"{row.host}: removed (no longer in the environment)")
    return lines


def _apply(row: Registry, item: Declared) -> list[str]:
    wanted = {
        "provider": item.provider,
        "username": item.username,
        "options": item.options,
        "insecure": item.insecure,
        "managed_by_env": True,
    }
    changed = row.pk is None or any(getattr(row, name) != value for name, value in wanted.items())
    changed = changed or row.get_secret() != item.secret
    if not changed:
        return []
    created = row.pk is None
    for name, value in wanted.items():
        setattr(row, name, value)
    row.set_secret(item.secret)
    row.full_clean()
    row.save()
    return [f"{row.host}: {'imported' if created else 'updated'} ({row.get_provider_display()})"]


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _ecr(get: Getter) -> list[Declared]:
    role = get("AWS_ROLE_ARN")
    region = get("AWS_REGION") or get("AWS_DEFAULT_REGION")
    hosts = _split(get("ECR_REGISTRY"))
    if not hosts:
        account = get("AWS_ACCOUNT_ID") or (m.group(1) if (m := ROLE_ACCOUNT.match(role)) else "")
        if not (account and region and (role or get("AWS_ACCESS_KEY_ID"))):
            return []
        hosts = [f"{account}.dkr.ecr.{region}.amazonaws.com"]
    options = {"role_arn": role} if role else {}
    return [
        Declared(host, Registry.Provider.ECR, get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"), dict(options))
        for host in hosts
    ]


def _acr(get: Getter) -> list[Declared]:
    name = get("AZURE_REGISTRY")
    if not name:
        return []
    host = name if "." in name else f"{name}.azurecr.io"
    options = {"tenant_id": get("AZURE_TENANT_ID")} if get("AZURE_TENANT_ID") else {}
    return [Declared(_host(host), Registry.Provider.ACR, get("AZURE_CLIENT_ID"), get("AZURE_CLIENT_SECRET"), options)]


def _gcp(get: Getter) -> list[Declared]:
    url = get("GCP_REGISTRY_URL")
    if not url:
        return []
    key = get("GCP_SERVICE_ACCOUNT_JSON")
    if key and not key.lstrip().startswith("{"):  # a path to the key file
        key = Path(key).expanduser().read_text(encoding="utf-8")
    if key:
        json.loads(key)  # a broken key stops start-up here, naming the variable (see the command)
    options = {"project": get("GCP_PROJECT")} if get("GCP_PROJECT") else {}
    return [Declared(_host(url), Registry.Provider.GCP, "", key, options)]


def _harbor(get: Getter) -> list[Declared]:
    url = get("HARBOR_URL")
    if not url:
        return []
    parts = urlsplit(url if "://" in url else f"https://{url}")
    options = {"api_url": f"{parts.scheme}://{parts.netloc}"} if parts.scheme == "http" else {}
    return [
        Declared(
            parts.netloc,
            Registry.Provider.HARBOR,
            get("HARBOR_USERNAME"),
            get("HARBOR_PASSWORD"),
            options,
            insecure=parts.scheme == "http",
        )
    ]


def _swr(get: Getter) -> list[Declared]:
    region = get("SWR_REGION")
    if not region:
        return []
    options = {"region": region, **({"organization": get("SWR_ORGANIZATION")} if get("SWR_ORGANIZATION") else {})}
    host = f"swr.{region}.myhuaweicloud.{'eu' if region == 'eu-west-101' else 'com'}"
    return [Declared(host, Registry.Provider.SWR, get("SWR_ACCESS_KEY"), get("SWR_SECRET_KEY"), options)]


def _docr(get: Getter) -> list[Declared]:
    token = get("DO_TOKEN")
    if not token and not get("DO_REGISTRY"):
        return []
    options = {"registry": get("DO_REGISTRY")} if get("DO_REGISTRY") else {}
    return [Declared("registry.digitalocean.com", Registry.Provider.DOCR, "", token, options)]


def _dockerhub(get: Getter) -> list[Declared]:
    if not (get("DOCKERHUB_USERNAME") or get("DOCKERHUB_TOKEN")):
        return []
    return [Declared("docker.io", Registry.Provider.DOCKERHUB, get("DOCKERHUB_USERNAME"), get("DOCKERHUB_TOKEN"))]


def _host(value: str) -> str:
    """`https://europe-west1-docker.pkg.dev/project/repo` → `europe-west1-docker.pkg.dev`."""
    return urlsplit(value if "://" in value else f"//{value}").netloc
