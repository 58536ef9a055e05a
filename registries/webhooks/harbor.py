"""Harbor project webhooks (HTTP, default payload format): `type: PUSH_ARTIFACT`, `occur_at`,
`event_data{resources[{tag, digest, resource_url}], repository{repo_full_name}}`.

Harbor copies the policy's "Auth Header" verbatim into `Authorization`: set it to the secret shown here.
"""

from __future__ import annotations

from registries.webhooks.base import (
    Delivery,
    Incoming,
    WebhookRefused,
    body_id,
    from_epoch,
    mapping,
    push,
    require_header_secret,
)

PUSH_TYPES = frozenset({"PUSH_ARTIFACT", "pushImage"})  # 2.x, and 1.x's name for it


class HarborFamily:
    name = "harbor"
    label = "Harbor (project webhook, HTTP)"
    signs = True

    def verify(self, incoming: Incoming, secret: str) -> None:
        require_header_secret(incoming, secret)

    def parse(self, incoming: Incoming) -> Delivery:
        payload = mapping(incoming.json())
        kind = payload.get("type")
        if not kind or "event_data" not in payload:
            raise WebhookRefused("not a Harbor webhook: no type / event_data")
        sent_at = from_epoch(payload.get("occur_at"))
        if kind not in PUSH_TYPES:
            return Delivery((), delivery_id=body_id(incoming), sent_at=sent_at, note=f"{kind} is not a push")
        data = mapping(payload["event_data"])
        repository = mapping(data.get("repository"))
        name = repository.get("repo_full_name") or "/".join(
            str(part) for part in (repository.get("namespace"), repository.get("name")) if part
        )
        resources = [mapping(item) for item in data.get("resources") or [] if isinstance(item, dict)]
        pushes = tuple(push(name, item.get("tag"), item.get("digest")) for item in resources if item.get("tag"))
        return Delivery(pushes, delivery_id=body_id(incoming), sent_at=sent_at, note="" if pushes else "no tag")
