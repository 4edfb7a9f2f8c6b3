"""Private, link-local, metadata, CGNAT, ULA and IPv4-mapped destinations are refused, tested with
no packet leaving the machine: every service here runs with the test-only network safety net
(tests/support/netguard), which lets only loopback through and logs any other connection that the
product's guard failed to refuse. Names resolve through the net's fake DNS, never a real server."""

import pytest

from .ssrf_fixtures import (
    assert_refused,
    guarded_service,
    hop_origin,
    hops_url,
    make_media,
    write_playlist_at,
)

FAKE_DNS_NAMES = {
    "metadata.fake-dns.test": "169.254.169.254",
    "intranet.fake-dns.test": "10.1.2.3",
    "ula.fake-dns.test": "fd00::1",
}


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    root = make_media(tmp_path_factory.mktemp("internal-media"))
    write_playlist_at(root, "private-segments.m3u8", "http://10.1.2.3")
    return root


@pytest.fixture(scope="module")
def origin(media_root):
    with hop_origin(media_root) as server:
        yield server


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("internal-open")
    with guarded_service(tmp, FAKE_DNS_NAMES, EGRESS_ALLOW_CIDRS="127.0.0.1/32") as running:
        yield running


@pytest.fixture(autouse=True)
def nothing_got_through(request):
    yield
    if "service" in request.fixturenames:
        assert request.getfixturevalue("service").breaches() == []


INTERNAL = [
    ("http://10.0.0.1/clip.mp4", "10.0.0.1", "a private"),
    ("http://172.16.0.1/clip.mp4", "172.16.0.1", "a private"),
    ("http://192.168.1.1/clip.mp4", "192.168.1.1", "a private"),
    ("http://100.64.0.1/clip.mp4", "100.64.0.1", "a shared (CGNAT)"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "a link-local"),
    ("http://[fd00::1]/clip.mp4", "fd00::1", "a private"),
    ("http://[fe80::1]/clip.mp4", "fe80::1", "a link-local"),
    ("http://[::ffff:10.0.0.1]/clip.mp4", "::ffff:10.0.0.1", "a private"),
    ("http://0.0.0.0:9/clip.mp4", "0.0.0.0", "an unspecified"),
    ("http://metadata.fake-dns.test/latest/meta-data/", "169.254.169.254", "a link-local"),
    ("http://intranet.fake-dns.test/clip.mp4", "10.1.2.3", "a private"),
    ("http://ula.fake-dns.test/clip.mp4", "fd00::1", "a private"),
]


@pytest.mark.parametrize(("url", "address", "category"), INTERNAL)
def test_internal_destinations_are_refused(service, url, address, category):
    assert_refused(service.download(url), address, category)


def test_the_fetch_processes_run_with_the_safety_net(service, origin):
    before = service.guarded_pids()
    assert service.download(f"{origin.base}/clip.mp4").status_code == 200
    assert service.guarded_pids() - before - {service.pid}, "the fetch process did not load the net"


@pytest.mark.parametrize("codes", ["302", "301,307"])
def test_redirect_from_the_allowed_origin_to_the_metadata_address_is_refused(service, origin, codes):
    url = hops_url(origin.base, codes, "http://169.254.169.254/latest/meta-data/")
    assert_refused(service.download(url), "169.254.169.254", "a link-local")


def test_hls_segments_at_a_private_address_are_refused(service, origin):
    assert_refused(service.download(f"{origin.base}/hls/private-segments.m3u8"), "10.1.2.3", "a private")


def test_the_safety_net_catches_what_the_product_lets_through(tmp_path):
    # An operator may allow 10.0.0.0/8; in tests the net must still stop the packet and say so.
    with guarded_service(tmp_path, EGRESS_ALLOW_CIDRS="10.0.0.0/8") as permissive:
        response = permissive.download("http://10.0.0.1/clip.mp4")
        found = permissive.breaches()
    assert response.status_code != 200, response.text
    assert len(found) >= 1 and all("'10.0.0.1'" in line for line in found), found
