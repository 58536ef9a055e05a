"""Tag ranking: which tag a service should move to, under its policy, and why.

The core loop uses `policy_from_labels` to build a service's `TagPolicy`, then `rank` with the
repository's tags. See docs/tag-policy.md for the schemes, the label vocabulary and the hard cases.
"""

from registries.tags.decision import Candidate, Decision
from registries.tags.policy import LABELS, STRATEGIES, UPDATE_MODES, PolicyError, TagPolicy, policy_from_labels
from registries.tags.ranking import PUSH_TIME_FETCH_LIMIT, rank
from registries.tags.schemes import SCHEMES, TagInfo, classify, is_floating
from registries.tags.versions import BUMP_LEVELS

__all__ = [
    "BUMP_LEVELS",
    "LABELS",
    "PUSH_TIME_FETCH_LIMIT",
    "SCHEMES",
    "STRATEGIES",
    "UPDATE_MODES",
    "Candidate",
    "Decision",
    "PolicyError",
    "TagInfo",
    "TagPolicy",
    "classify",
    "is_floating",
    "policy_from_labels",
    "rank",
]
