"""The input and output types of ranking: a candidate tag and the decision with its explanation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Candidate:
    """A tag the registry lists, with its push time when the registry (or the image config) gives one.

    A naive `pushed_at` is taken as UTC, so mixed inputs still compare instead of raising.
    """

    tag: str
    pushed_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.pushed_at is not None and self.pushed_at.tzinfo is None:
            object.__setattr__(self, "pushed_at", self.pushed_at.replace(tzinfo=UTC))


@dataclass
class Decision:
    """What `rank` decided for one service, and why: this is what the dashboard and `rank_tags` show."""

    current: str
    scheme: str  # the current tag's scheme
    chosen: str | None
    ranked: list[str]  # eligible candidates, best first (never the current tag); chosen is ranked[0]
    rejected: dict[str, str]  # tag -> why it is not eligible
    reason: str  # one-line summary
    needs_push_time: list[str]  # tags whose push time would let ranking decide; empty if none needed
    tracks_digest: bool  # the current tag is floating or the strategy is digest: compare digests instead
    shape: str = ""  # the current tag's shape, e.g. `X.Y.Z-alpine`: candidates must have it
    strategy: str = "auto"
    held_back: dict[str, int] = field(default_factory=dict)  # newer tags the policy kept out, per rule

    def to_dict(self, *, max_rejected: int | None = None) -> dict:
        """JSON-serialisable form; `max_rejected` keeps the first N rejections (by tag) for storage."""
        rejected = self.rejected
        omitted = 0
        if max_rejected is not None and len(rejected) > max_rejected:
            kept = sorted(rejected)[:max_rejected]
            omitted = len(rejected) - max_rejected
            rejected = {tag: self.rejected[tag] for tag in kept}
        data = {
            "current": self.current,
            "scheme": self.scheme,
            "shape": self.shape,
            "strategy": self.strategy,
            "chosen": self.chosen,
            "reason": self.reason,
            "ranked": list(self.ranked),
            "needs_push_time": list(self.needs_push_time),
            "tracks_digest": self.tracks_digest,
            "held_back": dict(self.held_back),
            "rejected": dict(rejected),
        }
        if omitted:
            data["rejected_omitted"] = omitted
        return data
