"""Quay repository push notifications: `repository` (`namespace/name`), `docker_url`, `updated_tags[]`.

Quay signs nothing and its payload has neither an id nor a time: the URL's token is the only proof, and
the same push sent twice cannot be told from a replay (either way it only causes one more check).
"""

from __future__ import annotations

from registries.webhooks.base import Delivery, Incoming, WebhookRefused, mapping, push


class QuayFamily:
    name = "quay"
    label = "Quay (repository push notification)"
    signs = False

    def verify(self, incoming: Incoming, secret: str) -> None:
        return None

    def parse(self, incoming: Incoming) -> Delivery:
        payload = mapping(incoming.json())
        tags = payload.get("updated_tags")
        if not payload.get("repository") or not isinstance(tags, list):
            raise WebhookRefused("not a Quay push notification: no repository / updated_tags")
        return Delivery(tuple(push(payload["repository"], tag) for tag in tags if tag))
