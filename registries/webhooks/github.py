"""GitHub Packages (GHCR) webhooks: the `package` and `registry_package` events, `action: published`.

GitHub signs the body: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`. The secret is
required for this family; `X-GitHub-Delivery` identifies the delivery (a redelivery reuses it).
"""

from __future__ import annotations

import hashlib
import hmac

from registries.webhooks.base import Delivery, Incoming, WebhookRefused, from_iso, mapping, push

EVENTS = ("package", "registry_package")


class GitHubFamily:
    name = "github"
    label = "GitHub Container Registry (package webhook)"
    signs = True

    def verify(self, incoming: Incoming, secret: str) -> None:
        if not secret:
            raise WebhookRefused("GitHub webhooks need a secret here (Settings → Webhooks → Secret)", status=403)
        signature = incoming.headers.get("X-Hub-Signature-256", "")
        if not signature:
            raise WebhookRefused("unsigned: no X-Hub-Signature-256 header", status=401)
        expected = "sha256=" + hmac.new(secret.encode(), incoming.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise WebhookRefused("forged: the X-Hub-Signature-256 signature does not match", status=403)

    def parse(self, incoming: Incoming) -> Delivery:
        event = incoming.headers.get("X-GitHub-Event", "")
        delivery_id = incoming.headers.get("X-GitHub-Delivery", "")
        if not event or not delivery_id:
            raise WebhookRefused("not a GitHub webhook: no X-GitHub-Event / X-GitHub-Delivery")
        if event == "ping":
            return Delivery((), delivery_id=f"github:{delivery_id}", note="ping")
        if event not in EVENTS:
            return Delivery((), delivery_id=f"github:{delivery_id}", note=f"{event} events are not pushes")
        payload = mapping(incoming.json())
        package = mapping(payload.get(event))
        version = mapping(package.get("package_version"))
        common = {"delivery_id": f"github:{delivery_id}", "sent_at": from_iso(package.get("updated_at"))}
        if payload.get("action") != "published" or str(package.get("package_type", "")).lower() != "container":
            return Delivery((), note="not a published container package", **common)
        tag = mapping(mapping(version.get("container_metadata")).get("tag")).get("name")
        owner = mapping(package.get("owner")).get("login") or package.get("namespace")
        if not tag or not owner or not package.get("name"):
            return Delivery((), note="a published version without a tag", **common)
        return Delivery((push(f"{owner}/{package['name']}", tag),), **common)
