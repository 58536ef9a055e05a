"""The process-wide memory of which scheme (https or plain http) a loopback or insecure host answered on."""

import pytest

from registries.client import KNOWN_SCHEMES, RegistryClient, RegistryUnavailable
from registries.distribution.schemes import SchemeCache
from tests.support.registry import free_port


@pytest.fixture(autouse=True)
def fresh_scheme_cache():
    KNOWN_SCHEMES.clear()


def test_connection_failure_on_a_remembered_scheme_makes_the_next_client_probe_again():
    host = f"127.0.0.1:{free_port()}"
    KNOWN_SCHEMES.remember(host, "http")
    client = RegistryClient(host, timeout=1, retries=0)
    with pytest.raises(RegistryUnavailable):
        client.ping()
    assert client.request_count == 1  # no https probe: the remembered scheme was used
    assert KNOWN_SCHEMES.get(host) is None


def test_failed_probe_remembers_nothing():
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(RegistryUnavailable):
        RegistryClient(host, timeout=1, retries=0).ping()
    assert KNOWN_SCHEMES.get(host) is None


def test_hosts_are_matched_case_insensitively():
    cache = SchemeCache()
    cache.remember("LocalHost:5000", "http")
    assert cache.get("localhost:5000") == "http"


def test_expired_entry_is_forgotten():
    cache = SchemeCache(ttl=0)
    cache.remember("localhost:5000", "http")
    assert cache.get("localhost:5000") is None


def test_oldest_host_is_dropped_when_full():
    cache = SchemeCache(max_hosts=2)
    for port in (5000, 5001, 5002):
        cache.remember(f"localhost:{port}", "http")
    assert [cache.get(f"localhost:{port}") for port in (5000, 5001, 5002)] == [None, "http", "http"]
