"""Registry host health: an outage is a change once when it starts and once when it ends."""

import pytest

from registries.health import HealthChange, registry_health_record, registry_hosts_down
from registries.models import RegistryHealth

pytestmark = pytest.mark.django_db


def test_a_host_that_stays_down_is_a_change_once_and_its_recovery_once():
    assert registry_health_record({"a.example": None, "b.example": "refused"}) == [
        HealthChange("b.example", reachable=False, error="refused")
    ]
    assert registry_health_record({"a.example": None, "b.example": "refused again"}) == []
    assert registry_hosts_down() == {"b.example"}
    assert RegistryHealth.objects.get(host="b.example").error == "refused"  # since the outage began
    assert registry_health_record({"b.example": None}) == [HealthChange("b.example", reachable=True, error="")]
    assert registry_hosts_down() == set()


def test_a_change_another_check_already_recorded_is_not_reported_again():
    registry_health_record({"a.example": None})
    RegistryHealth.objects.filter(host="a.example").update(reachable=False)  # an overlapping check was first
    assert registry_health_record({"a.example": "timed out"}) == []
