"""Docker Hub repository webhooks: `push_data{tag, pushed_at, pusher}`, `repository{repo_name, namespace, name}`.

Docker Hub signs nothing and sends no custom header: the URL's token is the only proof. Its payload also
carries a `callback_url` on Docker Hub's own host (a legacy delivery receipt); a payload whose callback
points anywhere else did not come from Docker Hub and is refused. The callback itself is never called.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from registries.webhooks.base import Delivery, Incoming, WebhookRefused, body_id, from_epoch, mapping, push

CALLBACK_HOSTS = frozenset({"registry.hub.docker.com", "hub.docker.com"})


class DockerHubFamily:
    name = "dockerhub"
    label = "Docker Hub"
    signs = False

    def verify(self, incoming: Incoming, secret: str) -> None:
        return None  # nothing to verify beyond the URL token

    def parse(self, incoming: Incoming) -> Delivery:
        payload = mapping(incoming.json())
        data, repository = mapping(payload.get("push_data")), mapping(payload.get("repository"))
        if not data or not repository:
            raise WebhookRefused("not a Docker Hub webhook: no push_data / repository")
        callback = payload.get("callback_url")
        if callback:
            parts = urlsplit(str(callback))
            if parts.scheme != "https" or parts.hostname not in CALLBACK_HOSTS:
                raise WebhookRefused("forged: callback_url is not on Docker Hub", status=403)
        name = repository.get("repo_name") or "/".join(
            str(part) for part in (repository.get("namespace"), repository.get("name")) if part
        )
        if not data.get("tag"):
            raise WebhookRefused("not a Docker Hub push: no tag")
        return Delivery(
            (push(name, data.get("tag")),), delivery_id=body_id(incoming), sent_at=from_epoch(data.get("pushed_at"))
        )
