"""Connection-time refusal in the running service: a loopback origin must see no connection at all."""

import httpx
import pytest

from .conftest import counting_server, media_service

TIMEOUT = 60


@pytest.fixture(scope="module")
def proxy(site):
    with counting_server(site) as server:
        yield server


@pytest.fixture(scope="module")
def closed_service(tmp_path_factory, proxy):
    """No private destination allowed; one proxy (on loopback) allowed by the operator."""
    with media_service(tmp_path_factory.mktemp("media-closed"), ALLOWED_PROXIES=proxy.base) as base:
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


def test_allowed_proxy_is_reachable_and_carries_the_request(closed_service, proxy):
    # 10.255.255.1 itself would be refused; through the operator's proxy only the proxy is contacted.
    url = "http://10.255.255.1/clip.mp4"
    response = httpx.post(
        f"{closed_service}/downloads", json={"url": url, "proxy": proxy.base}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    assert response.json()["video_info"]["channel"] == "10.255.255.1"
    assert proxy.gets.get(url, 0) >= 1


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
