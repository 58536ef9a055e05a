"""The Prometheus collector: every metric is computed from the database when /metrics is scraped.

Counters come from rows that are never rewritten (finished runs) or that check cycles add to in the
database (registry requests and errors per host), so any number of web and worker processes agree and
nothing is lost when one restarts; no prometheus multiprocess directory is needed.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from dashboard.metrics import selectors


class UpdaterCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from _services()
        yield from _deploys()
        yield from _check_cycles()
        yield from _registries()
        yield from _scans()


def _services() -> Iterator[Metric]:
    family = GaugeMetricFamily("updater_services", "Services by the state the board shows", labels=["state"])
    for state, number in sorted(selectors.services_by_state().items()):
        family.add_metric([state], number)
    yield family


def _deploys() -> Iterator[Metric]:
    deploys = CounterMetricFamily(
        "updater_deploys", "Finished deploy runs by outcome and trigger", labels=["outcome", "trigger"]
    )
    for (outcome, trigger), number in sorted(selectors.deploys_by_outcome_and_trigger().items()):
        deploys.add_metric([outcome, trigger], number)
    yield deploys
    durations = HistogramMetricFamily(
        "updater_deploy_duration_seconds", "How long finished deploy runs took, by outcome", labels=["outcome"]
    )
    for outcome, histogram in sorted(selectors.deploy_durations().items()):
        buckets = [(_bound(bound), count) for bound, count in histogram.buckets] + [("+Inf", histogram.count)]
        durations.add_metric([outcome], buckets, sum_value=histogram.total_seconds)
    yield durations


def _check_cycles() -> Iterator[Metric]:
    facts = selectors.check_cycle_facts()
    duration = GaugeMetricFamily(
        "updater_check_cycle_duration_seconds", "How long the last finished registry check cycle took"
    )
    if facts.last_duration_seconds is not None:
        duration.add_metric([], facts.last_duration_seconds)
    yield duration
    last = GaugeMetricFamily(
        "updater_last_successful_check_timestamp_seconds", "When the last successful check cycle ended (Unix time)"
    )
    if facts.last_success_at is not None:
        last.add_metric([], facts.last_success_at.timestamp())
    yield last
    yield GaugeMetricFamily("updater_check_cycles_running", "Check cycles running now", value=facts.running)


def _registries() -> Iterator[Metric]:
    hosts = selectors.registry_hosts()
    requests = CounterMetricFamily("updater_registry_requests", "HTTP requests checks sent, by host", labels=["host"])
    errors = CounterMetricFamily("updater_registry_errors", "Registry questions that failed, by host", labels=["host"])
    up = GaugeMetricFamily("updater_registry_up", "Whether the last check reached the host", labels=["host"])
    remaining = GaugeMetricFamily(
        "updater_registry_quota_remaining", "Pulls left in the registry's quota (Docker Hub)", labels=["host"]
    )
    limit = GaugeMetricFamily("updater_registry_quota_limit", "The registry's pull quota (Docker Hub)", labels=["host"])
    for host in hosts:
        requests.add_metric([host.host], host.request_count)
        errors.add_metric([host.host], host.error_count)
        up.add_metric([host.host], 1 if host.reachable else 0)
        if host.quota_remaining is not None:
            remaining.add_metric([host.host], host.quota_remaining)
        if host.quota_limit is not None:
            limit.add_metric([host.host], host.quota_limit)
    yield from (requests, errors, up, remaining, limit)


def _scans() -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "updater_scan_findings",
        "Findings in the latest scan of what each service runs, by severity",
        labels=["severity"],
    )
    for severity, number in selectors.scan_findings_by_severity().items():
        family.add_metric([severity.lower()], number)
    yield family


def _bound(seconds: float) -> str:
    return floatToGoString(seconds)  # "5.0", as prometheus-client's own histograms write bucket bounds


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(UpdaterCollector())
