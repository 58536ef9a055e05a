"""Sync: record the verified revision and release the service, in one fenced transaction.

Nothing here talks to a registry: a rollback's ignore list is decided when the run starts
(`rollback_ignores`, stored on the run) and only applied here, so a slow or failing registry can
neither delay the final write nor make a verified deploy look abandoned.
"""

from __future__ import annotations

from collections.abc import Callable

from deployments.backups import open_edit
from deployments.engine.backoff import cleared_fields
from deployments.engine.state import RunContext, finish_with_retry
from deployments.engine.targets import reference_for
from deployments.models import DeploymentRun, Revision
from deployments.policy import service_policy
from registries.client import RegistryError
from registries.secrets import CredentialError
from registries.services import registry_client_for
from registries.tags import PolicyError, TagPolicy, rank

State = DeploymentRun.State


def record_success(ctx: RunContext, *, note: str = "") -> None:
    """Record the revision and end the run succeeded (retried on transient database errors)."""
    run = ctx.run
    service = run.service
    fields: dict[str, object] = {
        "current_tag": run.to_tag,
        "current_digest": run.to_digest,
        "current_image_id": run.to_image_id,
        "image": _new_image(run),
        "is_running": True,
        "container_state": "running",
        **cleared_fields(),
    }
    if run.trigger == DeploymentRun.Trigger.ROLLBACK:
        fields.update(_rollback_exclusions(ctx))
    if note:
        ctx.note(note)
    ctx.note(f"synced: {service} runs {run.to_tag} ({run.to_digest or 'no registry digest'})")

    def create_revision() -> None:
        Revision.objects.create(
            service=service,
            tag=run.to_tag,
            digest=run.to_digest,
            image_id=run.to_image_id,
            trigger=run.trigger,
            user=run.requested_by,
            run=run,
        )

    finish_with_retry(ctx, State.SUCCEEDED, before=create_revision, service_fields=fields)


def _new_image(run: DeploymentRun) -> str:
    if run.file_backup:
        return open_edit(run.file_backup).new_image
    return str(reference_for(run.service, run.to_tag))


def _rollback_exclusions(ctx: RunContext) -> dict[str, object]:
    """After a rollback: ignore the tags decided when it started, and clear any pin.

    For a mutable tag (same tag, other digest) the digest rolled back from is ignored instead.
    """
    run = ctx.run
    service = run.service
    ignored_tags = set(service.ignored_tags)
    ignored_digests = set(service.ignored_digests)
    if run.from_tag == run.to_tag:
        if run.from_digest and run.from_digest != run.to_digest:
            ignored_digests.add(run.from_digest)
    else:
        ignored_tags.update(run.ignore_tags_on_success or ([run.from_tag] if run.from_tag else []))
    ignored_tags.discard(run.to_tag)
    ctx.note(f"rollback: ignoring tags {', '.join(sorted(ignored_tags)) or 'none'}; pin cleared")
    return {"ignored_tags": sorted(ignored_tags), "ignored_digests": sorted(ignored_digests), "pinned_tag": ""}


def rollback_ignores(run: DeploymentRun, note: Callable[[str], None]) -> list[str]:
    """The tags a rollback will ignore once it succeeds: the tag it leaves, and every tag newer than
    its target that exists now (so the next check does not roll straight forward). A tag pushed later
    updates as usual. Known tags (revision history, the last check's candidates) count even if the
    registry cannot be listed; the rollback itself never fails for this.
    """
    if run.from_tag == run.to_tag:
        return []
    service = run.service
    try:
        policy = service_policy(service)
    except PolicyError:
        policy = TagPolicy()
    policy = TagPolicy(
        strategy=policy.strategy, include=policy.include, exclude=policy.exclude, allow_prerelease=True, max_bump=None
    )
    known = set(service.revisions.values_list("tag", flat=True))
    known.update(tag for tag in (service.available_tag, service.current_tag, run.from_tag) if tag)
    known.update((service.check_explanation or {}).get("ranked", []))
    try:
        reference = reference_for(service, run.to_tag)
        listed = registry_client_for(reference.registry, reference.api_host).list_tags(reference.repository)
    except (RegistryError, CredentialError) as exc:
        note(f"could not list tags to ignore after the rollback ({exc}); using the tags already known")
        listed = []
    newer = rank(run.to_tag, sorted(known | set(listed)), policy).ranked
    ignored = sorted({*newer, run.from_tag} - {run.to_tag, ""})
    note(f"rollback: once it succeeds, tags {', '.join(ignored) or 'none'} will be ignored")
    return ignored
