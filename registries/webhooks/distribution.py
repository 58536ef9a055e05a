"""The distribution registry's own notifications (`docker-registry`, GitLab's container registry, Harbor's
core, Nexus…): an envelope `{"events": [...]}` of media type
`application/vnd.docker.distribution.events.v2+json`, one event per manifest or blob action.

Configure the registry's `notifications.endpoints` with this URL and, to sign, a static header
`Authorization: [Bearer <secret>]` (distribution's `headers`; GitLab's "Authorization" setting).
"""

from __future__ import annotations

from registries.webhooks.base import (
    Delivery,
    Incoming,
    Push,
    WebhookRefused,
    from_iso,
    mapping,
    push,
    require_header_secret,
)

MEDIA_TYPE = "application/vnd.docker.distribution.events.v2+json"
# Blob (layer, config) pushes emit events too; only a manifest pushed under a tag changes what a tag names.
MANIFEST_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    }
)


class DistributionFamily:
    name = "distribution"
    label = "Distribution registry notifications (docker-registry, Harbor core, Nexus)"
    signs = True

    def verify(self, incoming: Incoming, secret: str) -> None:
        require_header_secret(incoming, secret)

    def parse(self, incoming: Incoming) -> Delivery:
        envelope = incoming.json()
        events = mapping(envelope).get("events")
        if not isinstance(events, list):
            raise WebhookRefused("not a distribution notification: no `events` list")
        pushes: list[Push] = []
        ids, times = [], []
        for raw in events:
            event = mapping(raw)
            ids.append(str(event.get("id") or ""))
            if (stamp := from_iso(event.get("timestamp"))) is not None:
                times.append(stamp)
            target = mapping(event.get("target"))
            if event.get("action") != "push" or not target.get("tag"):
                continue
            if target.get("mediaType") and target["mediaType"] not in MANIFEST_TYPES:
                continue
            pushes.append(push(target.get("repository"), target.get("tag"), target.get("digest")))
        if not all(ids):
            raise WebhookRefused("not a distribution notification: an event has no id")
        return Delivery(
            tuple(pushes),
            delivery_id="events:" + ",".join(sorted(ids)),
            sent_at=min(times) if times else None,
            note="" if pushes else "no tagged manifest push in these events",
        )


class GitLabFamily(DistributionFamily):
    """GitLab's container registry sends distribution notifications; GitLab's own "Authorization" setting
    is sent verbatim in the header."""

    name = "gitlab"
    label = "GitLab container registry (registry notifications)"
