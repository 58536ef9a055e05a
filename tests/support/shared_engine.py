"""The Docker engine is shared with other test sessions: tests that run a whole check cycle ignore their projects."""

from __future__ import annotations

from tests.support.docker_env import docker_client

PROJECT_LABEL = "com.docker.compose.project"


def other_projects(*mine: str) -> list[str]:
    """Every Compose project on the engine now, except `mine` (for UPDATER_IGNORED_PROJECTS)."""
    containers = docker_client().api.containers(all=True, filters={"label": PROJECT_LABEL})
    return sorted({c["Labels"][PROJECT_LABEL] for c in containers} - set(mine))
