"""Sync: record the verified revision and release the service, in one fenced transaction."""

from __future__ import annotations

from django.db import transaction

from deployments.backups import open_edit
from deployments.engine.state import RunContext, finish
from deployments.engine.targets import reference_for
from deployments.models import DeploymentRun, Revision
from deployments.policy import service_policy
from registries.client import RegistryError
from registries.secrets import CredentialError
from registries.services import registry_client_for
from registries.tags import PolicyError, TagPolicy, rank

State = DeploymentRun.State


def record_success(ctx: RunContext) -> Revision:
    run = ctx.run
    service = run.service
    fields: dict[str, object] = {
        "current_tag": run.to_tag,
        "current_digest": run.to_digest,
        "current_image_id": run.to_image_id,
        "image": _new_image(run),
        "is_running": True,
        "container_state": "running",
    }
    if run.trigger == DeploymentRun.Trigger.ROLLBACK:
        fields.update(_rollback_exclusions(ctx))
    ctx.note(f"synced: {service} runs {run.to_tag} ({run.to_digest or 'no registry digest'})")
    with transaction.atomic():
        revision = Revision.objects.create(
            service=service,
            tag=run.to_tag,
            digest=run.to_digest,
            image_id=run.to_image_id,
            trigger=run.trigger,
            user=run.requested_by,
            run=run,
        )
        finish(ctx, State.SUCCEEDED, service_fields=fields)
    return revision


def _new_image(run: DeploymentRun) -> str:
    if run.file_backup:
        return open_edit(run.file_backup).new_image
    return str(reference_for(run.service, run.to_tag))


def _rollback_exclusions(ctx: RunContext) -> dict[str, object]:
    """After a rollback: ignore the tags newer than the target that exist now, and clear any pin.

    For a mutable tag (same tag, other digest) the digest rolled back from is ignored instead.
    A tag pushed later is not ignored, so it updates as usual.
    """
    run = ctx.run
    service = run.service
    ignored_tags = list(service.ignored_tags)
    ignored_digests = list(service.ignored_digests)
    if run.from_tag == run.to_tag:
        if run.from_digest and run.from_digest != run.to_digest:
            ignored_digests.append(run.from_digest)
    else:
        newer = _newer_tags(ctx)
        ignored_tags.extend([*newer, run.from_tag] if run.from_tag else newer)
    ignored_tags = sorted(set(ignored_tags) - {run.to_tag})
    ctx.note(f"rollback: ignoring tags {', '.join(ignored_tags) or 'none'}; pin cleared")
    return {"ignored_tags": ignored_tags, "ignored_digests": sorted(set(ignored_digests)), "pinned_tag": ""}


def _newer_tags(ctx: RunContext) -> list[str]:
    run = ctx.run
    reference = reference_for(run.service, run.to_tag)
    try:
        policy = service_policy(run.service)
    except PolicyError:
        policy = TagPolicy()
    policy = TagPolicy(
        strategy=policy.strategy,
        include=policy.include,
        exclude=policy.exclude,
        allow_prerelease=True,
        max_bump=None,
    )
    try:
        tags = registry_client_for(reference.registry, reference.api_host).list_tags(reference.repository)
    except (RegistryError, CredentialError) as exc:  # the rollback itself succeeded: never undo it for this
        ctx.note(f"could not list tags to ignore after the rollback ({exc}); ignoring only {run.from_tag}")
        return []
    return rank(run.to_tag, tags, policy).ranked
