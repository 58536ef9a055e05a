"""Push payloads in each family's documented shape (docs and peers' fixtures, see registries.md §5)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DIGEST = "sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d"


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def distribution_event(repository: str, tag: str = "", *, action: str = "push", media_type: str = MANIFEST, **extra):
    target = {"mediaType": media_type, "size": 524, "digest": DIGEST, "length": 524, "repository": repository}
    if tag:
        target["tag"] = tag
    event = {
        "id": str(uuid.uuid4()),
        "timestamp": extra.pop("timestamp", now_iso()),
        "action": action,
        "target": target,
        "request": {"id": str(uuid.uuid4()), "addr": "127.0.0.1:5000", "host": "127.0.0.1:5000", "method": "PUT"},
        "actor": {},
        "source": {"addr": "registry:5000", "instanceID": str(uuid.uuid4())},
    }
    event.update(extra)
    return event


def distribution(*events) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def dockerhub(repo_name: str = "svendowideit/testhook", tag: str = "latest", **overrides) -> bytes:
    payload = {
        "callback_url": "https://registry.hub.docker.com/u/svendowideit/testhook/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/",
        "push_data": {"pushed_at": int(datetime.now(UTC).timestamp()), "pusher": "trustedbuilder", "tag": tag},
        "repository": {
            "comment_count": 0,
            "date_created": 1417494799,
            "is_private": True,
            "name": repo_name.split("/")[1],
            "namespace": repo_name.split("/")[0],
            "repo_name": repo_name,
            "status": "Active",
        },
    }
    payload.update(overrides)
    return json.dumps(payload).encode()


def harbor(full_name: str = "library/nginx", tag: str = "v1.0", kind: str = "PUSH_ARTIFACT") -> bytes:
    project, _, name = full_name.partition("/")
    return json.dumps(
        {
            "type": kind,
            "occur_at": int(datetime.now(UTC).timestamp()),
            "operator": "admin",
            "event_data": {
                "resources": [{"digest": DIGEST, "tag": tag, "resource_url": f"harbor.example.com/{full_name}:{tag}"}],
                "repository": {
                    "date_created": 1586933113,
                    "name": name,
                    "namespace": project,
                    "repo_full_name": full_name,
                    "repo_type": "private",
                },
            },
        }
    ).encode()


def acr(repository: str = "hello-world", tag: str = "v1", action: str = "push") -> bytes:
    return json.dumps(
        {
            "id": "cb8c3971-9adc-488b-bdd8-43cbb4974ff5",
            "timestamp": now_iso(),
            "action": action,
            "target": {
                "mediaType": MANIFEST,
                "size": 524,
                "digest": DIGEST,
                "length": 524,
                "repository": repository,
                "tag": tag,
            },
            "request": {
                "id": "3cbb6949-7549-4fa1-86cd-a6d5451dffc7",
                "host": "myregistry.azurecr.io",
                "method": "PUT",
                "useragent": "docker/17.09.0-ce go/go1.8.3",
            },
        }
    ).encode()


def github_package(owner: str = "Octo-Org", name: str = "hello-world", tag: str = "1.2.3") -> bytes:
    return json.dumps(
        {
            "action": "published",
            "package": {
                "id": 1,
                "name": name,
                "namespace": owner,
                "ecosystem": "CONTAINER",
                "package_type": "CONTAINER",
                "owner": {"login": owner, "id": 2},
                "updated_at": now_iso(),
                "package_version": {
                    "id": 3,
                    "name": DIGEST,
                    "version": DIGEST,
                    "container_metadata": {"tag": {"name": tag, "digest": DIGEST}},
                },
                "registry": {"url": "https://ghcr.io", "vendor": "GitHub Inc"},
            },
            "repository": {"full_name": f"{owner}/{name}"},
            "sender": {"login": owner},
        }
    ).encode()


def quay(repository: str = "mynamespace/repository", tags: tuple[str, ...] = ("latest",)) -> bytes:
    namespace, _, name = repository.partition("/")
    return json.dumps(
        {
            "repository": repository,
            "namespace": namespace,
            "name": name,
            "docker_url": f"quay.io/{repository}",
            "homepage": f"https://quay.io/repository/{repository}",
            "updated_tags": list(tags),
        }
    ).encode()
