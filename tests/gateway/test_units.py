"""In-process checks of the gateway's pure pieces: URL rules, time format, health summary, settings."""

from datetime import datetime, timedelta, timezone

import pytest

from gateway.config import GatewaySettings
from gateway.routes.info import summarize_health
from gateway.urls import video_url_problem
from service_common.contracts import EndpointHealth, OrchestratorHealth, format_timestamp
from service_common.proxies import allowed_proxy, proxy_refusal


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "http://youtu.be/dQw4w9WgXcQ?t=10",
        "HTTPS://WWW.YOUTUBE.COM/shorts/abc",
        "https://vimeo.com./123",
        "http://127.0.0.1:8080/video.mp4",
        "http://[::1]:9000/video.mp4",
        "https://bücher.example/video",
        "https://localhost/v.mp4",
    ],
)
def test_acceptable_urls(url):
    assert video_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("", "url_empty"),
        ("https://a.com/" + "x" * 2100, "url_too_long"),
        ("https://a.com/\u200bx", "url_characters"),
        ("https://a.com/\tx", "url_characters"),
        ("mailto:a@b.com", "url_scheme"),
        ("//youtube.com/watch", "url_scheme"),
        ("https://u:p@a.com/", "url_credentials"),
        ("http://[::1/", "url_parsing"),
        ("https://a..com/", "url_host"),
        ("https://" + "a" * 64 + ".com/", "url_host"),
    ],
)
def test_refused_urls(url, kind):
    problem = video_url_problem(url)
    assert problem is not None and problem[0] == kind


def test_timestamps_are_naive_utc_seconds():
    aware = datetime(2025, 10, 26, 7, 0, 0, 500000, tzinfo=timezone(timedelta(hours=-5)))
    assert format_timestamp(aware) == "2025-10-26T12:00:00"
    assert format_timestamp(datetime(2025, 10, 26, 12, 0, 0)) == "2025-10-26T12:00:00"


def test_health_with_no_endpoints_is_degraded():
    summary = summarize_health(OrchestratorHealth(database_ok=True, active_tasks=1, endpoints=[]))
    assert (summary.status, summary.gpu_available, summary.gpu_name, summary.active_tasks) == (
        "degraded",
        False,
        None,
        1,
    )


def test_health_ignores_gpus_of_unreachable_endpoints():
    health = OrchestratorHealth(
        database_ok=True,
        active_tasks=0,
        endpoints=[
            EndpointHealth(
                role="vision",
                tier="int4",
                base_url="http://x",
                model="m",
                reachable=False,
                gpu_available=True,
                gpu_name="A100",
            ),
        ],
    )
    summary = summarize_health(health)
    assert (summary.status, summary.gpu_available, summary.gpu_name) == ("degraded", False, None)


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("ALLOWED_PROXIES", "socks5://127.0.0.1:9050, http://p:3128")
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "")
    settings = GatewaySettings()
    assert settings.port == 8080
    assert settings.allowed_proxies == ["socks5://127.0.0.1:9050", "http://p:3128"]
    assert settings.cors_allow_origins == []
    assert (settings.host, settings.max_frames_limit, settings.orchestrator_url) == (
        "127.0.0.1",
        64,
        "http://127.0.0.1:8001",
    )


def test_unexpected_errors_are_one_line_json():
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    app = create_app(GatewaySettings(orchestrator_url="http://127.0.0.1:9"))

    @app.get("/boom")
    async def boom():
        raise RuntimeError("internal secret")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error (RuntimeError); see the gateway log"}


ALLOWED = ["socks5://127.0.0.1:9050", "http://user:secret@127.0.0.1:3128"]


@pytest.mark.parametrize("proxy", [
    "http://127.0.0.1:6379",  # a proxy "pointing" at an internal service: the classic attack
    "socks5h://169.254.169.254:80",
    "http://[::1]:6379",
    "socks5://127.0.0.1:9051",
    "http://127.0.0.1:3128",  # the listed one, without its credentials
    "http://user:other@127.0.0.1:3128",
    "socks5://127.0.0.1:9050/x",  # parsers disagree on what follows the authority: refuse it all
    "socks5://127.0.0.1:9050#@10.0.0.1:1080",
    "socks5://127.0.0.1:9050?@10.0.0.1",
    "file:///etc/passwd",
    "socks5://127.0.0.1:notaport",
])
def test_only_listed_proxies_are_accepted(proxy):
    assert proxy_refusal(proxy, ALLOWED) is not None
    assert allowed_proxy(proxy, ALLOWED) is None


def test_a_listed_proxy_is_used_in_the_operators_spelling():
    assert proxy_refusal("SOCKS5://127.0.0.1:9050/", ALLOWED) is None
    assert allowed_proxy("SOCKS5://127.0.0.1:9050/", ALLOWED) == "socks5://127.0.0.1:9050"
    assert allowed_proxy("http://user:secret@127.0.0.1:3128", ALLOWED) == "http://user:secret@127.0.0.1:3128"
