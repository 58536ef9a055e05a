"""Benchmark: rank 10,000 tags. Prints timings; not a test.

    .venv/bin/python bench/rank_tags.py [--tags 10000] [--repeat 7]

"cold" clears the classification cache first (the first check of a repository); "warm" is every later
check, when the repository's tags were classified before. "every cache cold" also empties the caches of
tag pieces and tails that other repositories' checks keep warm in a running worker (a new process).
Target: well under 100 ms for 10,000 tags.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path


def realistic_tags(count: int, seed: int = 2024) -> list[str]:
    """A big, messy repository: versions in several shapes, prereleases, builds, dates, hashes, signatures."""
    rng = random.Random(seed)
    makers: list[Callable[[], str]] = [
        lambda: f"{rng.randint(0, 30)}.{rng.randint(0, 60)}.{rng.randint(0, 99)}",
        lambda: f"v{rng.randint(0, 30)}.{rng.randint(0, 60)}.{rng.randint(0, 99)}",
        lambda: f"{rng.randint(0, 30)}.{rng.randint(0, 60)}.{rng.randint(0, 99)}-alpine",
        lambda: f"{rng.randint(0, 30)}.{rng.randint(0, 60)}.{rng.randint(0, 99)}-slim-bookworm",
        lambda: f"{rng.randint(0, 30)}.{rng.randint(0, 60)}.{rng.randint(0, 9)}-rc.{rng.randint(1, 5)}",
        lambda: f"{rng.randint(0, 30)}.{rng.randint(0, 60)}",
        lambda: f"{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}-ls{rng.randint(1, 400)}",
        lambda: f"2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{rng.randint(0, 235959):06d}",
        lambda: f"main-2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{rng.getrandbits(28):07x}",
        lambda: f"sha-{rng.getrandbits(28):07x}",
        lambda: f"sha256-{rng.getrandbits(256):064x}.sig",
        lambda: (
            rng.choice(["latest", "stable-alpine", "lts-alpine3.19", "pr", "main", "nightly"])
            + f"-{rng.randint(0, 99)}"
        ),
    ]
    tags: set[str] = set()
    while len(tags) < count:
        tags.add(rng.choice(makers)())
    ordered = sorted(tags)
    rng.shuffle(ordered)
    return ordered


def time_ms(action: Callable[[], object], *, before: Callable[[], object] | None = None, repeat: int) -> list[float]:
    timings = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def clear_tag_caches() -> None:
    """Empty every lru_cache in `registries.tags`, not only `classify`'s: the state of a new process."""
    for name, module in list(sys.modules.items()):
        if name.startswith("registries.tags."):
            for value in vars(module).values():
                if getattr(value, "__module__", None) == name and hasattr(value, "cache_clear"):
                    value.cache_clear()


def calibration_ms() -> float:
    """A fixed pure-Python workload, so figures from different machines can be compared."""
    return min(time_ms(lambda: sum(range(1_000_000)), repeat=5))


def report(label: str, timings: list[float], count: int) -> None:
    best, median = min(timings), statistics.median(timings)
    print(f"{label:<52} best {best:7.1f} ms   median {median:7.1f} ms   {count / median * 1000:>10,.0f} tags/s")


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from registries.tags import Candidate, TagPolicy, classify, rank

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    tags = realistic_tags(args.tags)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    hashes = [Candidate(f"sha-{index:07x}", start + timedelta(minutes=index)) for index in range(args.tags)]
    policy = TagPolicy(include=r"^\d", exclude=r"-rc", max_bump="minor", ignored=frozenset(tags[:100]))

    print(f"Python {sys.version.split()[0]}; {args.tags:,} tags; best and median of {args.repeat} runs")
    print(f"machine calibration: sum(range(1_000_000)) takes {calibration_ms():.1f} ms here")
    report(
        "auto, cold cache (first check of a repository)",
        time_ms(lambda: rank("1.2.3", tags), before=classify.cache_clear, repeat=args.repeat),
        args.tags,
    )
    report(
        "auto, every cache cold (a new process)",
        time_ms(lambda: rank("1.2.3", tags), before=clear_tag_caches, repeat=args.repeat),
        args.tags,
    )
    report("auto, warm cache (every later check)", time_ms(lambda: rank("1.2.3", tags), repeat=args.repeat), args.tags)
    report("auto, -alpine current, warm", time_ms(lambda: rank("1.2.3-alpine", tags), repeat=args.repeat), args.tags)
    report(
        "auto + include/exclude/max-bump/ignore, warm",
        time_ms(lambda: rank("1.2.3", tags, policy), repeat=args.repeat),
        args.tags,
    )
    report(
        "semver strategy, warm",
        time_ms(lambda: rank("1.2.3", tags, TagPolicy(strategy="semver")), repeat=args.repeat),
        args.tags,
    )
    report(
        "git-sha current, 10,000 hashes with push times, cold",
        time_ms(lambda: rank("sha-0000000", hashes), before=classify.cache_clear, repeat=args.repeat),
        args.tags,
    )
    report(
        "classify only, cold",
        time_ms(lambda: [classify(tag) for tag in tags], before=classify.cache_clear, repeat=args.repeat),
        args.tags,
    )
    decision = rank("1.2.3", tags)
    print(f"check: chosen={decision.chosen} ranked={len(decision.ranked)} rejected={len(decision.rejected)}")


if __name__ == "__main__":
    main()
