"""First-seen times of tags: how old a tag is when its registry gives no push time (minimum image age).

Reading costs one query; recording one per 5,000 new tags (and none once they are known), whatever the number
of services.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from registries.models import SeenTag


def seen_tags_load(repositories: Collection[str]) -> dict[str, dict[str, datetime]]:
    """repository -> tag -> first seen, for `repositories` (every one of them present, maybe empty)."""
    seen: dict[str, dict[str, datetime]] = {repository: {} for repository in repositories}
    if not seen:
        return seen
    rows = SeenTag.objects.filter(repository__in=list(seen)).values_list("repository", "tag", "first_seen_at")
    for repository, tag, first_seen in rows.iterator(chunk_size=5000):
        seen[repository][tag] = first_seen
    return seen


def seen_tags_record(new: Mapping[str, Collection[str]], *, now: datetime) -> int:
    """Remember tags listed for the first time at `now`; a tag another process recorded first keeps its time."""
    rows = [SeenTag(repository=repo, tag=tag, first_seen_at=now) for repo, tags in new.items() for tag in tags]
    if rows:
        SeenTag.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
    return len(rows)
