"""Connection-time refusal in the running service: a loopback origin must see no connection at all."""

import httpx
import pytest

from tests.support.netguard import breaches, netguard_env

from .conftest import counting_server, media_service

TIMEOUT = 60


@pytest.fixture(scope="module")
def proxy(site):
    with counting_server(site) as server:
        yield server


@pytest.fixture(scope="module")
def breach_log(tmp_path_factory):
    return tmp_path_factory.mktemp("netguard") / "breaches.log"


@pytest.fixture(scope="module")
def closed_service(tmp_path_factory, proxy, breach_log):
    """No private destination allowed; one proxy (on loopback) allowed by the operator. The safety net
    is on: the proxy test names an address off loopback, which must never be connected to directly."""
    media_dir = tmp_path_factory.mktemp("media-closed")
    with media_service(media_dir, ALLOWED_PROXIES=proxy.base, **netguard_env(breach_log)) as base:
        yield base


@pytest.fixture
def quiet_origin(site):
    with counting_server(site) as server:
        yield server


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_destination_is_refused_before_any_packet(closed_service, quiet_origin, host):
    port = quiet_origin.server_address[1]
    response = httpx.post(
        f"{closed_service}/downloads", json={"url": f"http://{host}:{port}/clip.mp4"}, timeout=TIMEOUT
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("download failed: destination ")
    assert "loopback" in detail and "EGRESS_ALLOW_CIDRS" in detail
    assert "127.0.0.1" in detail or "::1" in detail
    assert quiet_origin.connections == 0 and quiet_origin.gets == {}


def test_allowed_proxy_is_reachable_and_carries_the_request(closed_service, proxy, breach_log):
    # 10.255.255.1 itself would be refused; through the operator's proxy only the proxy is contacted.
    url = "http://10.255.255.1/clip.mp4"
    response = httpx.post(
        f"{closed_service}/downloads", json={"url": url, "proxy": proxy.base}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    assert response.json()["video_info"]["channel"] == "10.255.255.1"
    assert proxy.gets.get(url, 0) >= 1
    assert breaches(breach_log) == []


@pytest.mark.parametrize("spelling", ["http://127.0.0.1:{port}", "socks5://127.0.0.1:{port}", "http://[::1]:{port}"])
def test_a_proxy_the_operator_did_not_list_is_never_contacted(closed_service, quiet_origin, spelling, breach_log):
    # A "proxy" at an internal service (think 127.0.0.1:6379) is the classic way around an SSRF guard.
    proxy = spelling.format(port=quiet_origin.server_address[1])
    response = httpx.post(f"{closed_service}/downloads", json={"url": "https://example.com/v.mp4", "proxy": proxy},
                          timeout=TIMEOUT)
    assert response.status_code == 422, response.text
    assert "ALLOWED_PROXIES" in response.json()["detail"]
    assert quiet_origin.connections == 0
    assert breaches(breach_log) == []


def test_slow_download_is_killed_at_the_time_limit(tmp_path_factory, site):
    with (
        counting_server(site) as origin,
        media_service(
            tmp_path_factory.mktemp("media-slow"), EGRESS_ALLOW_CIDRS="127.0.0.1/32", DOWNLOAD_TIMEOUT_S="3"
        ) as base,
    ):
        response = httpx.post(f"{base}/downloads", json={"url": f"{origin.base}/slow.mp4"}, timeout=TIMEOUT)
    assert response.status_code == 504, response.text
    assert response.json() == {"detail": "download timed out after 3 s", "retryable": True}
