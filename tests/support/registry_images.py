"""Tiny but real OCI / Docker images as bytes: a gzip tar layer, a config blob, manifests and indexes.

Everything is deterministic (fixed tar and gzip mtimes, sorted keys) so the same inputs give the same digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

MEDIA_TYPES = {
    "oci": (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER, OCI_INDEX),
    "docker": (DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST_LIST),
}


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def platform_dict(platform: str) -> dict[str, str]:
    """`linux/arm64/v8` → {"os": "linux", "architecture": "arm64", "variant": "v8"}."""
    parts = platform.split("/")
    result = {"os": parts[0], "architecture": parts[1]}
    if len(parts) > 2:
        result["variant"] = parts[2]
    return result


def gzip_layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzip tar of `files` (path → content) and its diff_id (the digest of the uncompressed tar)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(content), 0o755, 0
            tar.addfile(info, io.BytesIO(content))
    tar_bytes = buffer.getvalue()
    return gzip.compress(tar_bytes, mtime=0), sha256_digest(tar_bytes)


@dataclass(frozen=True)
class ImageBlobs:
    """What to upload for one image: layer and config blobs, and the manifest that ties them."""

    layer: bytes
    config: bytes
    manifest: bytes
    manifest_media_type: str


def build_image(
    files: dict[str, bytes], *, created: datetime | None, platform: str = "linux/amd64", media_type: str = "oci"
) -> ImageBlobs:
    """An image with one layer holding `files`; `created` goes into the config (omitted if None)."""
    manifest_type, config_type, layer_type, _ = MEDIA_TYPES[media_type]
    layer, diff_id = gzip_layer(files)
    config_body: dict[str, object] = {
        **platform_dict(platform),
        "config": {"Cmd": ["/hello"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "tests.support.registry_images"}],
    }
    if created is not None:
        stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        config_body["created"] = stamp
        config_body["history"] = [{"created": stamp, "created_by": "tests.support.registry_images"}]
    config = canonical_json(config_body)
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": sha256_digest(config), "size": len(config)},
            "layers": [{"mediaType": layer_type, "digest": sha256_digest(layer), "size": len(layer)}],
        }
    )
    return ImageBlobs(layer=layer, config=config, manifest=manifest, manifest_media_type=manifest_type)


def build_index(entries: list[tuple[str, int, str, str]], *, media_type: str = "oci") -> tuple[bytes, str]:
    """An index (or Docker manifest list) of (digest, size, manifest media type, platform) entries."""
    index_type = MEDIA_TYPES[media_type][3]
    manifests = [
        {"mediaType": child_type, "digest": digest, "size": size, "platform": platform_dict(platform)}
        for digest, size, child_type, platform in entries
    ]
    return canonical_json({"schemaVersion": 2, "mediaType": index_type, "manifests": manifests}), index_type
