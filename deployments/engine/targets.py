"""Small translations between stored services and what Docker and the registry need."""

from __future__ import annotations

from deployments.docker import ComposeTarget, ImageInfo
from deployments.models import Service
from registries.reference import ImageReference, InvalidReference, parse_reference


def compose_target(service: Service) -> ComposeTarget:
    project = service.project
    return ComposeTarget(project.name, project.working_dir, tuple(project.config_files))


def reference_for(service: Service, tag: str) -> ImageReference:
    """The service's repository at `tag` (validated against the OCI grammar)."""
    return parse_reference(service.repository).with_tag(tag)


def image_digest_for(image: ImageInfo, reference: ImageReference) -> str:
    """The registry digest a local image was pulled as, for this repository ("" if none)."""
    for entry in image.repo_digests:
        name, _, digest = entry.partition("@")
        try:
            if parse_reference(name, default_tag=None).name == reference.name:
                return digest
        except InvalidReference:
            continue
    return ""
