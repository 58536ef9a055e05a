"""Benchmark: what each cloud provider's SDK costs a process when used, and that it costs nothing when not.

    PYTHONPATH=. DJANGO_SETTINGS_MODULE=updater_project.settings \
        .venv/bin/python bench/provider_sdk_cost.py acr|gcp|none

One scenario per process: fetch the registry credentials and list tags with times through the provider, against
the local emulations of the provider APIs (tests.support.provider_apis), then print the PSS/RSS growth
(/proc/self/smaps_rollup), the time taken and which SDK packages were newly imported.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import django

SDKS = {"azure", "msal", "google", "grpc", "proto", "boto3", "botocore"}


def memory() -> dict[str, float]:
    with open("/proc/self/smaps_rollup", encoding="ascii") as rollup:
        return {line.split(":")[0]: int(line.split()[1]) / 1024 for line in rollup if line.startswith(("Pss:", "Rss:"))}


def main(scenario: str) -> None:
    django.setup()
    import registries.services  # noqa: F401 - what every process has loaded already
    from registries.providers import RegistryConfig, provider_for
    from tests.support.fake_registry import run_fake_registry
    from tests.support.provider_apis import AcrEmulator, GoogleEmulator

    loaded = set(sys.modules)
    digest = "sha256:" + "a" * 64
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_fake_registry(tls_dir=Path(tmp) if scenario == "acr" else None) as fake,
    ):
        if scenario == "acr":
            running = SimpleNamespace(token_server=SimpleNamespace(users={}))
            acr = AcrEmulator(fake, running, tenant="t", client=("id", "s"), registry="x.azurecr.io")  # type: ignore[arg-type]
            tag = {"name": "1.0", "digest": digest, "createdTime": "2026-01-01T00:00:00Z"}
            acr.serve_tags("team/app", [{**tag, "lastUpdateTime": "2026-01-02T00:00:00Z"}])
            options = {"tenant_id": "t", "authority_host": fake.url, "api_url": fake.url}
            secret = "s"  # noqa: S105 - the emulated service principal's
            config = RegistryConfig(
                "acr", "x.azurecr.io", username="id", secret=secret, options=options, ca_file=fake.ca_file
            )
            repository = "team/app"
        else:
            google = GoogleEmulator(fake)
            image = {
                "uri": f"europe-west1-docker.pkg.dev/p/r/app@{digest}",
                "tags": ["1.0"],
                "uploadTime": "2026-01-01T00:00:00Z",
            }
            google.serve_images("projects/p/locations/europe-west1/repositories/r", [image])
            config = RegistryConfig(
                "gcp",
                "europe-west1-docker.pkg.dev",
                secret=google.service_account_json(),
                options={"api_url": fake.url},
            )
            repository = "p/r/app"
        gc.collect()
        before, started = memory(), time.perf_counter()
        if scenario != "none":
            provider = provider_for(config)
            provider.fetch_credentials()
            listing = provider.list_tags_with_times(repository, None)  # type: ignore[arg-type]
            assert listing is not None and listing.tags == ["1.0"], listing
        gc.collect()
        after = memory()
    new = sorted({name.split(".")[0] for name in set(sys.modules) - loaded} & SDKS)
    print(
        f"{scenario}: +{after['Pss'] - before['Pss']:.1f} MB PSS, +{after['Rss'] - before['Rss']:.1f} MB RSS, "
        f"{1000 * (time.perf_counter() - started):.0f} ms; SDK packages imported: {new}"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "none")
