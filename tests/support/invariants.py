"""The one invariant every fault test asserts ("nothing lost", reliability.md §6):

(a) the service runs a verified image, or its last run is explicitly failed with the previous version
    running (or, if even the restore failed, failed with automation paused, saying why);
(b) the Compose file and `.env` are byte-identical to before the deploy or to the target, never a mix,
    and no temporary file of ours is left beside them;
(c) one run row per attempt, each in a terminal state, a failed one with its reason;
(d) database, file and containers agree: the service is released, its project unclaimed, every
    container of the service is running the image the database names, and the file names its tag;
(e) no secret in any log, run, error or event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors

from deployments import compose_file
from deployments.docker import interpolation_environ
from deployments.models import ComposeProject, DeploymentRun, Revision, Service
from registries.reference import parse_reference
from tests.support.docker_env import ComposeProjectDir, docker_client

VERIFIED, FAILED, PAUSED = "verified", "failed", "paused"


@dataclass
class Baseline:
    """What a project looked like before the fault: file bytes and the image the service ran."""

    project: ComposeProjectDir
    service: str
    files: dict[Path, bytes | None]
    image_id: str
    extra_files: dict[Path, bytes | None] = field(default_factory=dict)

    @classmethod
    def take(cls, project: ComposeProjectDir, service: str = "web") -> Baseline:
        paths = [project.compose_file, project.directory / ".env"]
        files = {path: path.read_bytes() if path.exists() else None for path in paths}
        running = [c for c in project.containers(service) if c.status == "running"]
        return cls(project, service, files, running[0].attrs["Image"] if running else "")


def running_containers(project: ComposeProjectDir, service: str = "web") -> list:
    return [c for c in project.containers(service) if c.status == "running"]


def assert_nothing_lost(
    baseline: Baseline,
    *,
    target_files: dict[Path, bytes] | None = None,
    attempts: int | None = None,
    secrets: Iterable[str] = (),
    texts: Iterable[str] = (),
) -> str:
    """Assert the invariant and return the outcome: VERIFIED, FAILED (previous version back) or PAUSED."""
    try:
        return _check(baseline, target_files or {}, attempts, list(secrets), list(texts))
    except AssertionError as exc:
        logs = "\n".join(
            f"--- run {run.pk} {run.to_tag} {run.state}: {run.error}\n{run.log}"
            for run in DeploymentRun.objects.filter(service__project__name=baseline.project.name).order_by("pk")
        )
        raise AssertionError(f"{exc}\n{logs}") from None


def _check(
    baseline: Baseline, targets: dict[Path, bytes], attempts: int | None, secrets: list[str], texts: list[str]
) -> str:
    project, name = baseline.project, baseline.service
    service = Service.objects.select_related("project").get(project__name=project.name, name=name)
    runs = list(DeploymentRun.objects.filter(service=service).order_by("pk"))

    # (c) one row per attempt, each terminal, a failure with its reason.
    if attempts is not None:
        assert len(runs) == attempts, [(r.pk, r.to_tag, r.state) for r in runs]
    for run in runs:
        assert run.state in DeploymentRun.FINAL_STATES, f"run {run.pk} left {run.state}"
        assert run.finished_at is not None
        if run.state == DeploymentRun.State.FAILED:
            assert run.error, f"run {run.pk} failed without a reason"

    # (d) released: no deploy holds the service or its project.
    assert service.active_run_id is None, "the service is still claimed"
    assert ComposeProject.objects.get(pk=service.project_id).deploy_run_id is None, "the project is still claimed"

    # (b) files: before or target, byte for byte; no temp file of ours left behind.
    for path, before in baseline.files.items():
        now = path.read_bytes() if path.exists() else None
        allowed = [before] + ([targets[path]] if path in targets else [])
        assert now in allowed, f"{path.name} is neither the original nor the target:\n{now!r}"
    leftovers = [p.name for p in project.directory.iterdir() if p.name.endswith(".updater-tmp")]
    assert not leftovers, leftovers

    # (a) + (d) what runs.
    outcome = _outcome(service, runs)
    containers = project.containers(name)
    if outcome == PAUSED:
        assert service.automation_paused, "a failed restore must pause automation and say why"
    else:
        assert containers, "the service has no container"
        states = [(c.name, c.status) for c in containers]
        assert all(c.status == "running" for c in containers), f"not every container runs (stale leftovers?): {states}"
        images = {c.attrs["Image"] for c in containers}
        assert images == {service.current_image_id}, (
            f"containers run {images}, the database says {service.current_image_id}"
        )
        if outcome == VERIFIED:
            last = runs[-1]
            assert last.verified_at is not None and last.to_image_id == service.current_image_id
            assert Revision.objects.filter(run=last).exists()
        else:
            previous = (runs[-1].from_image_id if runs else "") or baseline.image_id
            assert images == {previous}, "the previous version is not what runs"
        _assert_file_names_the_tag(project, name, service)

    # (e) no secret anywhere we stored or printed.
    stored = [service.automation_paused, service.backoff_reason] + [r.log + r.error for r in runs]
    for secret in secrets:
        for text in [*stored, *texts]:
            assert secret not in text, "a secret leaked"
    return outcome


def _outcome(service: Service, runs: list[DeploymentRun]) -> str:
    if not runs:
        return FAILED
    last = runs[-1]
    if last.state == DeploymentRun.State.SUCCEEDED:
        return VERIFIED
    if not last.restored:
        return PAUSED
    return FAILED


def _assert_file_names_the_tag(project: ComposeProjectDir, name: str, service: Service) -> None:
    config_files = list(service.project.config_files) or [str(project.compose_file)]
    image = compose_file.service_image(
        config_files, service.project.working_dir or str(project.directory), name, environ=interpolation_environ()
    )
    assert parse_reference(image).tag == service.current_tag, (
        f"the file says {image}, the database {service.current_tag}"
    )


def image_of_tag(reference: str) -> str | None:
    """The local image ID a tag names now (None if the tag is not on this host)."""
    try:
        return docker_client().images.get(reference).id
    except docker.errors.ImageNotFound:
        return None
