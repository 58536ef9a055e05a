"""Azure Container Registry webhooks: `id`, `timestamp`, `action: push`, `target{repository, tag, digest}`.

ACR signs nothing but sends the custom headers you give it: `az acr webhook create ... --headers
"Authorization=<secret>"` with the secret shown here. A digest-only push (no tag) changes no tag: ignored.
"""

from __future__ import annotations

from registries.webhooks.base import Delivery, Incoming, WebhookRefused, from_iso, mapping, push, require_header_secret


class AcrFamily:
    name = "acr"
    label = "Azure Container Registry (webhook)"
    signs = True

    def verify(self, incoming: Incoming, secret: str) -> None:
        require_header_secret(incoming, secret)

    def parse(self, incoming: Incoming) -> Delivery:
        payload = mapping(incoming.json())
        if not payload.get("id") or "action" not in payload:
            raise WebhookRefused("not an ACR webhook: no id / action")
        delivery = {"delivery_id": f"acr:{payload['id']}", "sent_at": from_iso(payload.get("timestamp"))}
        target = mapping(payload.get("target"))
        if payload["action"] != "push" or not target.get("tag"):
            return Delivery((), note=f"{payload['action']} without a tag is not a tag push", **delivery)
        return Delivery((push(target.get("repository"), target.get("tag"), target.get("digest")),), **delivery)
