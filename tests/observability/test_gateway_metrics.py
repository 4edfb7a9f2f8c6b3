"""The gateway's GET /metrics: who may read it (API keys, METRICS_TOKEN), and requests counted by route
template, fast-path task reads included, never by raw path."""

import uuid

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import GatewaySettings

from .metrics_text import samples, value

KEY = "alice:alice-key-0123456789"
TOKEN = "metrics-token-0123456789abcdef"


def gateway(**settings) -> TestClient:
    return TestClient(create_app(GatewaySettings(orchestrator_url="http://127.0.0.1:9", orchestrator_timeout_s=2,
                                                 rate_limit="0", **settings)))


def test_open_without_api_keys_and_kept_out_of_the_schema():
    with gateway() as client:
        answer = client.get("/metrics")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        assert "gateway_requests_total" in answer.text
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_off_with_api_keys_and_no_token():
    with gateway(api_keys=KEY) as client:
        for headers in ({}, {"Authorization": "Bearer alice-key-0123456789"}):
            answer = client.get("/metrics", headers=headers)
            assert (answer.status_code, answer.json()) == (404, {"detail": "Not Found"})


@pytest.mark.parametrize("keys", [KEY, None])
def test_a_metrics_token_is_asked_for_whenever_it_is_set(keys):
    with gateway(api_keys=keys, metrics_token=f"{TOKEN}\n") as client:
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Bearer alice-key-0123456789"},
                        {"X-API-Key": TOKEN}, {"Authorization": f"Basic {TOKEN}"}):
            answer = client.get("/metrics", headers=headers)
            assert answer.status_code == 401, headers
            assert answer.headers["www-authenticate"] == "Bearer"
        assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_template_comment_is_no_token():
    template = "# The token Prometheus sends the gateway\n# Empty: the gateway's /metrics stays off\n"
    assert GatewaySettings(metrics_token=template).metrics_token is None
    with pytest.raises(ValueError):
        GatewaySettings(metrics_token="two words")


def test_requests_are_counted_by_route_template_never_by_path():
    ids = [str(uuid.uuid4()) for _ in range(3)]
    with gateway() as client:
        before = samples(client.get("/metrics").text)
        for task in ids:
            assert client.get(f"/tasks/{task}").status_code == 503  # the fast path; no orchestrator behind
        assert client.get(f"/tasks/%7B{ids[0]}%7D").status_code == 503  # the FastAPI route, same template
        assert client.get(f"/tasks/{ids[0]}/frames/0.jpg").status_code == 503
        assert client.get(f"/no/such/{ids[1]}").status_code == 404
        assert client.request("BREW", "/").status_code == 405
        text = client.get("/metrics").text
    after = samples(text)

    def more(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert more("gateway_requests_total", method="GET", route="/tasks/{task_id}", status="503") == 4
    assert more("gateway_requests_total", method="GET", route="/tasks/{task_id}/frames/{index}.jpg",
                status="503") == 1
    assert more("gateway_requests_total", method="GET", route="unmatched", status="404") == 1
    assert more("gateway_requests_total", method="other", route="/", status="405") == 1
    assert more("gateway_request_duration_seconds_count", method="GET", route="/tasks/{task_id}") == 4
    for task in ids:
        assert task not in text
    assert "/no/such" not in text
