"""Real-world tag lists, one row per decision: what a service on `current` should move to.

Tag lists are shaped after the images' published tags (Docker Hub, GHCR, lscr.io, mcr, quay). A
`tag@N` entry carries a push time N days into 2024; plain entries have none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from registries.tags import Candidate, TagPolicy, rank

SIG = "sha256-" + "0123456789abcdef" * 4


def candidates(spec: str) -> list[Candidate]:
    """`"1.2.3 sha-abc1234@5"` → candidates; `@N` is a push time N days after 2024-01-01."""
    result = []
    for item in spec.split():
        tag, _, day = item.partition("@")
        pushed = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=int(day)) if day else None
        result.append(Candidate(tag, pushed))
    return result


@dataclass(frozen=True)
class Case:
    image: str
    current: str
    tags: str
    expected: str | None
    policy: dict = field(default_factory=dict)


CASES = [
    # nginx: mainline/stable names float; variants never cross (alpine, alpine-slim, alpine3.18, perl).
    Case("nginx", "1.25.3", "1.25.3 1.25.4 1.26.0 1.26 1.27.0-alpine mainline stable latest alpine perl", "1.26.0"),
    Case(
        "nginx",
        "1.25.3-alpine",
        "1.25.4-alpine 1.26.0-alpine 1.26.0 1.26.0-alpine-slim mainline-alpine",
        "1.26.0-alpine",
    ),
    Case("nginx", "1.25.3-alpine-slim", "1.25.4-alpine 1.26.0-alpine-slim 1.26.0-alpine", "1.26.0-alpine-slim"),
    Case("nginx", "1.25.3-alpine3.18", "1.25.4-alpine3.18 1.26.0-alpine3.19 1.26.0-alpine", "1.25.4-alpine3.18"),
    Case("nginx", "1.25", "1.25.4 1.26 1.26.1 1.27 1.27-alpine", "1.27"),
    Case("nginx", "1.25", "1.25.4 1.26 1.27", None, {"max_bump": "patch"}),
    Case("nginx", "1.25.3-perl", "1.26.0-perl 1.26.0 1.26.0-alpine-perl", "1.26.0-perl"),
    Case("nginx", "mainline-alpine", "1.26.0-alpine mainline-alpine", None),
    Case("nginx", "stable", "1.26.0 stable", None),
    Case("nginx", "1", "1 1.25 1.26.0", None),
    Case("nginx", "1.24.0", "1.25.0 1.25.0-otel 1.26.0-otel", "1.25.0"),
    # postgres: bare majors, majors with minors, Debian codenames and Alpine releases as variants.
    Case("postgres", "16", "15 16 17 16.1 17.2 17-alpine 18beta1", "17"),
    Case("postgres", "16", "16 17 18", None, {"max_bump": "minor"}),
    Case("postgres", "16.1", "16.2 16.10 17.0 16.2-alpine", "17.0"),
    Case("postgres", "16.1", "16.2 16.10 17.0", "16.10", {"max_bump": "minor"}),
    Case("postgres", "16-alpine", "16-alpine 17-alpine 17-alpine3.19 17", "17-alpine"),
    Case("postgres", "16.1-alpine3.19", "16.2-alpine3.19 16.2-alpine3.20 16.3-alpine3.20", "16.2-alpine3.19"),
    Case("postgres", "16-bookworm", "17-bookworm 17-trixie 17", "17-bookworm"),
    Case("postgres", "16.1-bullseye", "16.2-bookworm 16.2-bullseye", "16.2-bullseye"),
    Case("postgres", "16", "17rc1 17beta3 16", None),
    Case("postgres", "17beta3", "17beta3 17rc1 17 18beta1", "17"),
    Case("postgres", "17beta3", "17rc1 18beta1", "17rc1"),
    # python: PEP 440 prereleases glued to the version; `slim-bookworm` is one two-word variant.
    Case("python", "3.11.7", "3.11.8 3.12.1 3.13.0a2 3.13.0rc1 3.12.1-slim", "3.12.1"),
    Case(
        "python",
        "3.11.7-slim-bookworm",
        "3.11.8-slim-bookworm 3.12.1-slim-bookworm 3.12.1-slim-trixie 3.12.1-slim 3.13.0a2-slim-bookworm",
        "3.12.1-slim-bookworm",
    ),
    Case(
        "python",
        "3.11.7-slim-bookworm",
        "3.11.8-slim-bookworm 3.12.1-slim-bookworm",
        "3.11.8-slim-bookworm",
        {"max_bump": "patch"},
    ),
    Case("python", "3.13.0a2", "3.13.0a3 3.13.0b1 3.13.0rc1 3.13.0 3.14.0a1", "3.13.0"),
    Case("python", "3.13.0a2", "3.13.0a3 3.13.0b1 3.14.0a1", "3.13.0b1"),
    Case("python", "3.12-alpine", "3.12-alpine3.19 3.13-alpine 3.12.1-alpine", "3.13-alpine"),
    Case("python", "3.12", "3.12.1 3.13 3.13-slim 3", "3.13"),
    Case("python", "3-slim", "3-slim 3.13-slim", None),
    Case("python", "3.11.7", "3.12.1 3.13.0rc1", "3.13.0rc1", {"allow_prerelease": True}),
    # node: codenames (iron, lts, current) float; `bookworm-slim` stays `bookworm-slim`.
    Case("node", "20.11.0", "20.11.1 21.6.0 22.0.0 lts iron current", "22.0.0"),
    Case("node", "20.11.0", "20.11.1 20.12.0 21.6.0", "20.12.0", {"max_bump": "minor"}),
    Case("node", "20-alpine", "20-alpine 21-alpine 22-alpine3.19 lts-alpine", "21-alpine"),
    Case(
        "node", "20.11.0-alpine3.19", "20.11.1-alpine3.19 20.11.1-alpine3.18 20.12.0-alpine3.20", "20.11.1-alpine3.19"
    ),
    Case("node", "20-bookworm-slim", "21-bookworm-slim 21-bookworm 21-slim", "21-bookworm-slim"),
    Case("node", "lts-alpine", "20-alpine lts-alpine", None),
    Case("node", "iron", "20.11.0 iron", None),
    Case("node", "20.11", "20.12 21.0 20.11.1", "21.0"),
    # redis: milestones (`8.0-M02`) are prereleases.
    Case("redis", "7.2.4", "7.2.5 7.4.0 7.4-rc2 8.0-M02 latest", "7.4.0"),
    Case("redis", "7.2.4-alpine", "7.2.5-alpine 7.2.5-alpine3.19 7.4.0-alpine", "7.4.0-alpine"),
    Case("redis", "7-alpine", "7-alpine 8-alpine alpine", "8-alpine"),
    Case("redis", "7.2", "7.4 7.2.5 8.0-M02", "7.4"),
    Case("redis", "7.2-bookworm", "7.4-bookworm 7.4", "7.4-bookworm"),
    Case("redis", "alpine", "7.4-alpine alpine", None),
    # traefik: `v` and no-`v` spellings are separate lines; codenames float.
    Case("traefik", "v2.10.7", "v2.10.8 v2.11.0 v3.0.0-rc1 2.11.0 v3.0 latest saintmarcelin", "v2.11.0"),
    Case("traefik", "v2.10.7", "v2.10.8 v2.11.0 v3.0.0-rc1", "v3.0.0-rc1", {"allow_prerelease": True}),
    Case("traefik", "v2.10.7", "v3.0.0 v2.11.0", "v2.11.0", {"max_bump": "minor"}),
    Case("traefik", "2.10.7", "v2.11.0 2.10.8 2.11.0", "2.11.0"),
    Case("traefik", "v2.10", "v2.11 v3.0 2.11 v2.11.0", "v3.0"),
    Case("traefik", "v3.0.0-rc1", "v3.0.0-rc2 v3.0.0 v3.0.1 v3.1.0-rc1", "v3.0.1"),
    Case("traefik", "v3.0.0-beta5", "v3.0.0-beta5 v3.0.0-rc1 v3.0.0-rc2", "v3.0.0-rc2"),
    Case(
        "traefik",
        "v2.10-windowsservercore-1809",
        "v2.11-windowsservercore-1809 v2.11-nanoserver-ltsc2022",
        "v2.11-windowsservercore-1809",
    ),
    Case("traefik", "saintmarcelin", "v3.0.0 saintmarcelin", None),
    # grafana: `-ubuntu` variant, `-preview` prerelease, `-security-01` a separate line.
    Case("grafana", "10.2.3", "10.2.4 10.3.1 11.0.0-preview 10.3.1-ubuntu main latest", "10.3.1"),
    Case("grafana", "10.2.3-ubuntu", "10.3.1-ubuntu 10.3.1", "10.3.1-ubuntu"),
    Case("grafana", "10.2.3", "10.2.3-security-01 10.2.4", "10.2.4"),
    Case("grafana", "11.0.0-preview", "11.0.0 11.0.1", "11.0.1"),
    Case("grafana", "10.2.3", "11.0.0-preview 10.3.0", "11.0.0-preview", {"allow_prerelease": True}),
    Case("grafana", "main-ubuntu", "10.3.1-ubuntu main-ubuntu", None),
    # home-assistant: calendar versions with PEP 440 betas and dev builds.
    Case("home-assistant", "2024.1.0", "2024.1.1 2024.1.2 2024.2.0b1 2024.2.0 2024.1 stable beta dev", "2024.2.0"),
    Case("home-assistant", "2024.1.0", "2024.1.1 2024.1.2 2024.2.0", "2024.1.2", {"max_bump": "patch"}),
    Case("home-assistant", "2024.2.0b1", "2024.2.0b2 2024.2.0 2024.3.0b0", "2024.2.0"),
    Case("home-assistant", "2024.2.0b1", "2024.2.0b2 2024.3.0b0", "2024.2.0b2"),
    Case("home-assistant", "2024.1", "2024.2 2024.1.5 2025.1", "2025.1"),
    Case("home-assistant", "2024.12.4", "2025.1.0 2024.12.5", "2025.1.0"),
    Case("home-assistant", "0.118.5", "2021.1.0 0.118.6", "0.118.6"),
    Case("home-assistant", "stable", "2024.1.0 stable", None),
    Case("home-assistant", "2024.2.0.dev20240110", "2024.2.0.dev20240111 2024.2.0b0 2024.2.0", "2024.2.0"),
    Case("home-assistant", "2024.2.0.dev20240110", "2024.2.0.dev20240111 2024.3.0.dev20240201", "2024.2.0.dev20240111"),
    # ubuntu: YY.MM compares numerically; dated snapshots stay on their codename.
    Case("ubuntu", "22.04", "20.04 22.04 22.10 23.04 24.04 jammy noble latest rolling", "24.04"),
    Case("ubuntu", "jammy-20240111", "jammy-20240125 noble-20240212 jammy-20231211", "jammy-20240125"),
    Case("ubuntu", "18.04", "18.4 20.04", "20.04"),
    Case("ubuntu", "18.04", "18.4", None),
    Case("ubuntu", "22.04", "22.10 24.04", "22.10", {"max_bump": "minor"}),
    Case("ubuntu", "jammy", "22.04 jammy", None),
    # linuxserver: `-lsN` build revisions grow; `version-` and arch prefixes are lines of their own.
    Case("linuxserver", "0.6.12-ls132", "0.6.12-ls133 0.6.13-ls134 0.6.13 latest develop", "0.6.13-ls134"),
    Case(
        "linuxserver",
        "4.0.0.748-ls222",
        "4.0.0.748-ls223 4.0.1.929-ls224 4.0.1.929 develop-4.0.2.1000-ls1 version-4.0.1.929",
        "4.0.1.929-ls224",
    ),
    Case("linuxserver", "version-4.0.0.748", "version-4.0.1.929 4.0.1.929", "version-4.0.1.929"),
    Case(
        "linuxserver",
        "1.40.0.7998-c29d4c0c8-ls209",
        "1.40.0.7998-c29d4c0c8-ls210 1.40.1.8120-6dc5d4da3-ls211",
        "1.40.1.8120-6dc5d4da3-ls211",
    ),
    Case("linuxserver", "amd64-latest", "amd64-1.2.3 amd64-latest", None),
    Case("linuxserver", "arm64v8-1.2.3", "arm64v8-1.2.4 amd64-1.2.5 1.2.6", "arm64v8-1.2.4"),
    Case(
        "linuxserver",
        "v2.0.6.3-2.0.6.3_beta_2021-06-17-ls112",
        "v2.0.6.3-2.0.6.3_beta_2021-06-17-ls113 v2.0.7.0-2.0.7.0_beta_2021-07-01-ls115 2.0.7.0",
        "v2.0.6.3-2.0.6.3_beta_2021-06-17-ls113",
    ),
    Case(
        "linuxserver",
        "v2.0.6.3-2.0.6.3_beta_2021-06-17-ls112",
        "v2.0.6.3-2.0.6.3_beta_2021-06-17-ls113 v2.0.7.0-2.0.7.0_beta_2021-07-01-ls115 2.0.7.0",
        "v2.0.7.0-2.0.7.0_beta_2021-07-01-ls115",
        {"allow_prerelease": True},
    ),
    Case(
        "linuxserver",
        "develop-4.0.1.929-ls112",
        "develop-4.0.2.1000-ls113 4.0.2.1000-ls113",
        "develop-4.0.2.1000-ls113",
    ),
    # Debian-style image revisions and Bitnami's `-debian-11-rN`: the OS release is part of the variant.
    Case(
        "bitnami",
        "16.1.0-debian-11-r20",
        "16.1.0-debian-11-r21 16.2.0-debian-11-r0 16.2.0-debian-12-r5 16.2.0",
        "16.2.0-debian-11-r0",
    ),
    Case("bitnami", "16.1.0-debian-11-r20", "16.1.0-debian-11-r19 16.1.0-debian-11-r21", "16.1.0-debian-11-r21"),
    Case("debian-revision", "1.2.3-1", "1.2.3-2 1.2.4-1 1.2.4", "1.2.4-1"),
    Case("debian-revision", "1.2.3-1", "1.2.3-2 1.2.3-0", "1.2.3-2"),
    Case("debian-revision", "1.2.3", "1.2.3-1 1.2.4", "1.2.4"),
    # GitHub Actions (docker/metadata-action): sha tags order by push time only.
    Case("gha", "sha-abc1234", "sha-abc1234@1 sha-def5678@3 sha-1234567@5 main@6 pr-12@7 1.2.3@8", "sha-1234567"),
    Case("gha", "sha-abc1234", "sha-abc1234 sha-def5678 sha-1234567", None),
    Case("gha", "sha-abc1234", "sha-abc1234@9 sha-def5678@3 sha-1234567@5", None),
    Case("gha", "main", "main sha-abc1234 1.2.3", None),
    Case("gha", "pr-123", "pr-123 pr-456 pr-124", None),
    Case("gha", "abc1234", "abc1234@1 def5678@4 aaa1111@2 1.0.0@9", "def5678"),
    Case(
        "gha",
        "0a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d",
        "0a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d@1 ffffffffff0000000000ffffffffff0000000000@3 abc1234@9",
        "ffffffffff0000000000ffffffffff0000000000",
    ),
    Case(
        "gha",
        "main-20240110-abc1234",
        "main-20240111-def5678 main-20240109-aaa1111 develop-20240112-bbb2222",
        "main-20240111-def5678",
    ),
    Case("gha", "main-20240110-abc1234", "main-20240111-def5678 main-20240111-aaa1111", None),
    Case("gha", "main-20240110-abc1234", "main-20240111-def5678@11 main-20240111-aaa1111@12", "main-20240111-aaa1111"),
    Case(
        "flux",
        "main-abc1234-1704880000",
        "main-def5678-1704966400 main-aaa1111-1704800000 dev-bbb2222-1705000000",
        "main-def5678-1704966400",
    ),
    Case("gha", "1.2.3", "sha-abc1234@9 1.2.4 main latest", "1.2.4"),
    Case(
        "git-describe",
        "v1.2.3-4-gabc1234",
        "v1.2.3-7-gdef5678 v1.2.3-2-g0123abc v1.2.4 v1.2.4-1-gfff0000",
        "v1.2.4-1-gfff0000",
    ),
    Case("gha", "commit-abc1234", "commit-def5678@2 commit-abc1234@1 sha-bbb2222@5", "commit-def5678"),
    # Build numbers, dates and date-times.
    Case("builds", "1234", "1235 1240 999 20240101 abc", "1240"),
    Case("builds", "build-1234", "build-1235 build-999 1300", "build-1235"),
    Case("builds", "999", "1000 998", "1000"),
    Case("builds", "20240115", "20240116 20240115-103000 20240201", "20240201"),
    Case("builds", "20240115-103000", "20240115-120000 20240116-080000 20240117", "20240116-080000"),
    Case("builds", "2024-01-15", "2024-02-01 20240301", "2024-02-01"),
    Case("builds", "1234567", "1234568 1300000", "1300000"),
    Case("builds", "1234567", "1234567@1 2234567@2 abc1234@5", "abc1234"),
    Case("builds", "20240115.1", "20240115.2 20240116.1", "20240116.1"),
    # Signatures, attestations, caches: never candidates.
    Case("cosign", "1.2.3", f"{SIG}.sig {SIG}.att {SIG}.sbom 1.2.4.sig", None),
    Case("cosign", "1.2.3", f"{SIG}.sig 1.2.4 buildcache cache", "1.2.4"),
    # Java-world prereleases and variants.
    Case("maven", "3.8.3-SNAPSHOT", "3.8.3 3.8.4-SNAPSHOT", "3.8.3"),
    Case("maven", "1.0.0", "1.0.1-SNAPSHOT 1.0.1RC1 1.0.1-M1", None),
    Case("maven", "1.0.0RC1", "1.0.0RC2 1.0.0 1.0.1RC1", "1.0.0"),
    Case(
        "wildfly",
        "30.0.1.Final-jdk17",
        "30.0.2.Final-jdk17 31.0.0.Final-jdk21 31.0.0.Final-jdk17 31.0.0.Beta1-jdk17",
        "31.0.0.Final-jdk17",
    ),
    Case("temurin", "17-jdk", "21-jdk 17.0.10_7-jdk 17-jre", "21-jdk"),
    Case(
        "temurin",
        "17.0.9_9-jdk-jammy",
        "17.0.10_7-jdk-jammy 17.0.9_10-jdk-jammy 21.0.2_13-jdk-noble",
        "17.0.10_7-jdk-jammy",
    ),
    Case("openjdk", "21-ea-17-jdk", "21-ea-18-jdk 21-jdk 22-ea-1-jdk", "21-jdk"),
    # Databases and services.
    Case("mariadb", "11.2.2-jammy", "11.2.3-jammy 11.3.1-jammy 11.3.1-noble", "11.3.1-jammy"),
    Case("mysql", "8.0.36-debian", "8.0.37-debian 8.3.0-oraclelinux8 8.3.0", "8.0.37-debian"),
    Case("mysql", "8.0", "8.0 8.3 8.0.36", "8.3"),
    Case("mongo", "7.0.5-jammy", "7.0.6-jammy 7.0.6-nanoserver", "7.0.6-jammy"),
    Case(
        "rabbitmq",
        "3.12.12-management-alpine",
        "3.12.13-management-alpine 3.13.0-management-alpine 3.13.0-alpine 3.13.0-rc.1-management-alpine",
        "3.13.0-management-alpine",
    ),
    Case("rabbitmq", "3.12-management", "3.13-management 3.13.0-management", "3.13-management"),
    Case("elasticsearch", "8.12.0", "8.12.1 8.13.0 7.17.18", "8.13.0"),
    Case("keycloak", "23.0.4", "23.0.5 24.0.0 nightly latest", "24.0.0"),
    Case("gitea", "1.21.4-rootless", "1.21.5-rootless 1.22-dev-rootless 1.21.5", "1.21.5-rootless"),
    Case("vaultwarden", "1.30.1-alpine", "1.30.2-alpine 1.30.2", "1.30.2-alpine"),
    Case("portainer", "2.19.4", "2.19.4-alpine 2.20.0 linux-amd64-2.20.0", "2.20.0"),
    Case(
        "caddy",
        "2.7.6-builder-alpine",
        "2.7.6-alpine 2.8.0-builder-alpine 2.8.0-beta.1-builder-alpine",
        "2.8.0-builder-alpine",
    ),
    Case("nextcloud", "28.0.1-apache", "28.0.2-apache 28.0.2-fpm 29.0.0-apache", "29.0.0-apache"),
    Case("nextcloud", "28-apache", "29-apache 28.0-apache", "29-apache"),
    Case("wordpress", "6.4.2-php8.2-apache", "6.4.3-php8.2-apache 6.4.3-php8.3-apache", "6.4.3-php8.2-apache"),
    Case(
        "php",
        "8.2.15-fpm-alpine3.19",
        "8.2.16-fpm-alpine3.19 8.3.2-fpm-alpine3.19 8.2.16-fpm-alpine3.18",
        "8.3.2-fpm-alpine3.19",
    ),
    Case("golang", "1.21.6-bookworm", "1.21.7-bookworm 1.22rc2-bookworm 1.22.0-bookworm", "1.22.0-bookworm"),
    Case("golang", "1.22rc2", "1.22.0 1.22rc3 1.22", "1.22"),
    Case("busybox", "1.36.1-musl", "1.36.1-glibc 1.37.0-musl", "1.37.0-musl"),
    Case("alpine", "3.19.0", "3.19.1 3.20.0 edge latest 20240123", "3.20.0"),
    Case("alpine", "3.19", "3.20 3.19.1", "3.20"),
    Case(
        "debian",
        "bookworm-20240110",
        "bookworm-20240130 bookworm-20240130-slim bookworm-slim trixie-20240130",
        "bookworm-20240130",
    ),
    Case("debian", "bookworm-20240110-slim", "bookworm-20240130-slim bookworm-20240130", "bookworm-20240130-slim"),
    Case("debian", "12.4", "12.5 12.4-slim 11.9", "12.5"),
    Case(
        "minio",
        "RELEASE.2023-12-23T07-19-11Z",
        "RELEASE.2024-01-16T16-07-38Z RELEASE.2023-12-20T01-00-02Z",
        "RELEASE.2024-01-16T16-07-38Z",
    ),
    Case("windows", "ltsc2022", "ltsc2022 1809", None),
    Case(
        "jenkins", "2.440.1-lts-jdk17", "2.440.2-lts-jdk17 2.441-jdk17 2.440.2-lts-jdk21 lts-jdk17", "2.440.2-lts-jdk17"
    ),
    Case("jenkins", "2.440", "2.441 2.440.1", "2.441"),
    Case("influxdb", "2.7.5-alpine", "2.7.6-alpine 1.8.10-alpine", "2.7.6-alpine"),
    Case("prometheus", "v2.49.1", "v2.50.0-rc.0 v2.49.2 v2.50.0", "v2.50.0"),
    Case("node-exporter", "v1.7.0", "v1.8.0 master latest", "v1.8.0"),
    Case("loki", "2.9.4", "2.9.5 k180-24b0b53 main-24b0b53", "2.9.5"),
    Case(
        "dotnet",
        "8.0.1-bookworm-slim-amd64",
        "8.0.2-bookworm-slim-amd64 8.0.2-bookworm-slim-arm64v8",
        "8.0.2-bookworm-slim-amd64",
    ),
    Case("dotnet", "8.0", "8.0 9.0-preview 9.0", "9.0"),
    Case("immich", "v1.94.1", "v1.95.0 release main commit-abc1234", "v1.95.0"),
    Case("latest-variant", "latest-alpine", "1.2.3-alpine latest-alpine", None),
    # Policy: include/exclude, ignored tags, pins, strategies.
    Case("policy", "1.25.3", "1.25.4 1.26.0 1.27.0", "1.26.0", {"exclude": r"^1\.27\."}),
    Case("policy", "1.25.3", "1.25.4 1.26.0 1.27.0", "1.25.4", {"include": r"^1\.25\."}),
    Case("policy", "1.25.3", "1.25.4 1.26.0", "1.25.4", {"ignored": frozenset({"1.26.0"})}),
    Case("policy", "1.25.3", "1.24.0 1.26.0", "1.24.0", {"pinned": "1.24.0"}),
    Case("policy", "1.25.3", "1.26.0", None, {"pinned": "1.24.0"}),
    Case("policy", "1.25.3", "1.25.3 1.26.0", None, {"pinned": "1.25.3"}),
    Case("policy", "1.25.3", "1.25.4 1.26.0", None, {"strategy": "digest"}),
    Case("policy", "v1.2.3", "v1.2.4 1.3.0 v1.3.0-alpine", "1.3.0", {"strategy": "semver"}),
    Case("policy", "1.2.3", "1.2.4 1.3.0-alpine", "1.3.0-alpine", {"strategy": "semver", "allow_prerelease": True}),
    Case("policy", "2.0.0", "1.9.9@5 2.0.0@1 2.0.1@3", "1.9.9", {"strategy": "newest"}),
    Case("policy", "2.0.0", "1.9.9@5 2.0.0@1 2.0.1@3", "2.0.1"),
    Case("policy", "2024-01-05", "2024-01-10 2024-02-01 2023-12-31", "2024-02-01", {"strategy": "alphabetical"}),
]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{index:03d}-{case.image}-{case.current}" for index, case in enumerate(CASES)]
)
def test_real_world_choice(case: Case) -> None:
    decision = rank(case.current, candidates(case.tags), TagPolicy(**case.policy))
    assert decision.chosen == case.expected, decision.to_dict()


def test_the_table_is_large_enough_to_mean_something() -> None:
    assert len(CASES) >= 150
    assert len({case.image for case in CASES}) >= 40
