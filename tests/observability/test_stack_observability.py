"""One real lite stack with LOG_FORMAT=json and one real task: every service's /metrics, read with
Prometheus' parser, moves with the task; the orchestrator's task counts come from the database; the
client's X-Request-ID is on the log lines of every service the task went through, with the task's id; and
every metric the Grafana dashboard asks for is one the services expose."""

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from service_common.contracts import TaskStatus
from tests.support.polling import wait_until
from tests.support.stack import SERVICES, running_stack

from .metrics_text import exposed_names, samples, value

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "video-analysis.json"
REQUEST_ID = f"obs-{uuid.uuid4().hex[:12]}"
STAGES = ("downloading", "extracting_frames", "extracting_transcript", "analyzing_vision", "analyzing_text")


@dataclass
class Run:
    stack: object
    task_id: str
    submitted: httpx.Response
    before: dict[str, str]
    after: dict[str, str]

    def more(self, service: str, name: str, **labels) -> float:
        return value(samples(self.after[service]), name, **labels) - value(samples(self.before[service]), name,
                                                                           **labels)


def scrape(stack) -> dict[str, str]:
    answers = {name: httpx.get(stack.url(name) + "/metrics", timeout=10) for name in SERVICES}
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(SERVICES, 200)
    return {name: answer.text for name, answer in answers.items()}


@pytest.fixture(scope="module")
def run(tmp_path_factory, video_site) -> Run:
    with running_stack(tmp_path_factory.mktemp("observability"), extra_env={"LOG_FORMAT": "json"}) as stack:
        before = scrape(stack)
        api = stack.url("gateway")
        submitted = httpx.post(f"{api}/analyze", json={"youtube_url": f"{video_site}/watch.html", "max_frames": 2},
                               headers={"X-Request-ID": REQUEST_ID}, timeout=10)
        assert submitted.status_code == 200, submitted.text
        task_id = submitted.json()["task_id"]

        def finished() -> bool:
            return httpx.get(f"{api}/tasks/{task_id}", timeout=10).json()["status"] in ("completed", "failed")

        wait_until(finished, 90, "the task did not finish", every=0.2)
        assert httpx.get(f"{api}/tasks/{task_id}").json()["status"] == "completed"
        yield Run(stack, task_id, submitted, before, scrape(stack))


def test_the_gateway_counts_requests_by_route(run):
    assert run.more("gateway", "gateway_requests_total", method="POST", route="/analyze", status="200") == 1
    assert run.more("gateway", "gateway_requests_total", method="GET", route="/tasks/{task_id}", status="200") >= 2
    assert run.more("gateway", "gateway_request_duration_seconds_count", method="POST", route="/analyze") == 1
    assert run.task_id not in run.after["gateway"]


def test_the_orchestrator_counts_stages_claims_and_model_calls(run):
    assert run.more("orchestrator", "orchestrator_task_claims_total") == 1
    assert run.more("orchestrator", "orchestrator_task_takeovers_total") == 0
    assert run.more("orchestrator", "orchestrator_leases_lost_total") == 0
    for stage in STAGES:
        assert run.more("orchestrator", "orchestrator_stage_duration_seconds_count", stage=stage, outcome="ok") == 1
    assert run.more("orchestrator", "orchestrator_model_call_duration_seconds_count", role="vision",
                    endpoint="lite-vision") >= 1
    assert run.more("orchestrator", "orchestrator_model_call_duration_seconds_count", role="text",
                    endpoint="lite-text") >= 1
    assert run.more("orchestrator", "orchestrator_model_call_errors_total") == 0


def test_task_counts_and_queue_depth_come_from_the_database(run):
    after = samples(run.after["orchestrator"])
    by_status = {status.value: value(after, "orchestrator_tasks", status=status.value) for status in TaskStatus}
    assert by_status == {**dict.fromkeys(by_status, 0.0), "completed": 1.0}
    assert value(after, "orchestrator_queue_depth") == 0
    assert value(samples(run.before["orchestrator"]), "orchestrator_tasks") == 0
    assert "webhook_deliveries_total" in exposed_names(run.after["orchestrator"])


def test_the_media_service_counts_the_download_frames_and_transcript(run):
    assert run.more("media", "media_downloads_total", outcome="downloaded") == 1
    assert run.more("media", "media_downloaded_bytes_total") > 10_000
    assert run.more("media", "media_frame_extraction_seconds_count", strategy="scenes") == 1
    assert run.more("media", "media_transcript_seconds_count") == 1


def test_the_lite_server_times_calls_by_endpoint(run):
    assert run.more("lite", "lite_models_requests_total", method="POST", route="/v1/chat/completions",
                    status="200") >= 2
    assert run.more("lite", "lite_models_request_duration_seconds_count", route="/v1/chat/completions") >= 2


def json_log(stack, name: str) -> list[dict]:
    lines = (stack.workdir / f"{name}.log").read_text().splitlines()
    entries = []
    for line in lines:
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries


def test_the_request_id_follows_the_task_through_every_service(run):
    assert run.submitted.headers["x-request-id"] == REQUEST_ID
    logs = {}

    def every_service_logged_it() -> bool:
        logs.update({name: json_log(run.stack, name) for name in SERVICES})
        return all(any(e.get("request_id") == REQUEST_ID for e in entries) for entries in logs.values())

    wait_until(every_service_logged_it, 10, "the request id is missing from a service's log")
    for name, entries in logs.items():
        assert entries and all({"time", "level", "service", "logger", "message"} <= set(e) for e in entries), name
        mine = [e for e in entries if e.get("request_id") == REQUEST_ID]
        # Each line for the request names the task (the gateway's and orchestrator's once it was created).
        assert [e for e in mine if e.get("task_id") == run.task_id], name
    gateway = [e for e in logs["gateway"] if e.get("request_id") == REQUEST_ID]
    assert any('"POST /analyze' in e["message"] and e.get("task_id") == run.task_id for e in gateway)
    worker = [e for e in logs["orchestrator"] if e["logger"] == "orchestrator.worker"
              and e["message"] == f"task {run.task_id} completed"]
    assert [(e.get("request_id"), e.get("task_id")) for e in worker] == [(REQUEST_ID, run.task_id)]
    assert any("/downloads" in e["message"] for e in logs["media"] if e.get("request_id") == REQUEST_ID)
    # The work the task caused carries its request's id, and no other (polls of the task have their own).
    caused = [e for name in ("media", "lite") for e in logs[name] if e.get("task_id") == run.task_id]
    caused += [e for e in logs["orchestrator"] if e["logger"].startswith(("orchestrator.worker", "httpx"))
               and e.get("task_id") == run.task_id]
    assert caused and {e.get("request_id") for e in caused} == {REQUEST_ID}


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, ranges, grouping and strings left out)."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    words = re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", expr)
    return {w[1] for w in words if not w[2] and w[1] not in {"and", "or", "unless", "bool", "offset"}}


def test_promql_names_are_read_as_prometheus_does():
    assert promql_metric_names('histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{x="y"}[$__rate_interval])))'
                               ' / sum(b_total) * 60') == {"a_bucket", "b_total"}


def test_every_dashboard_metric_is_exposed(run):
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    used = set().union(*(promql_metric_names(expr) for expr in exprs))
    exposed = set().union(*(exposed_names(text) for text in run.after.values()))
    assert len(exprs) >= 15 and used
    assert used <= exposed, used - exposed
