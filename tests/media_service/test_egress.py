"""The destination decision, tested as a pure function: no packet leaves this machine."""

import pytest

from service_common.egress import destination_refusal

REFUSED = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "0.0.0.0",
    "127.0.0.1",
    "224.0.0.1",
    "240.0.0.1",
    "::1",
    "::",
    "::ffff:127.0.0.1",
    "::ffff:10.1.2.3",
    "fd00::1",
    "fe80::1",
    "fe80::1%eth0",
    "ff02::1",
]
ALLOWED = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34", "8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_destinations_are_refused(address):
    reason = destination_refusal(address, [])
    assert reason is not None
    assert address in reason and "EGRESS_ALLOW_CIDRS" in reason


@pytest.mark.parametrize("address", ALLOWED)
def test_public_destinations_are_allowed(address):
    assert destination_refusal(address, []) is None


def test_reason_names_the_kind_of_address():
    assert "private" in destination_refusal("10.0.0.5", [])
    assert "loopback" in destination_refusal("::1", [])
    assert "link-local" in destination_refusal("169.254.169.254", [])


def test_allowed_cidr_opens_only_that_range():
    allow = ["127.0.0.1/32"]
    assert destination_refusal("127.0.0.1", allow) is None
    assert destination_refusal("::ffff:127.0.0.1", allow) is None
    assert destination_refusal("127.0.0.2", allow) is not None
    assert destination_refusal("10.0.0.1", allow) is not None
    assert destination_refusal("10.9.8.7", ["10.0.0.0/8"]) is None


def test_non_addresses_are_refused():
    assert destination_refusal("localhost", []) is not None
