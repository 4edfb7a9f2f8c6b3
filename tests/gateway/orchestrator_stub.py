"""RecordingOrchestratorStub: a stand-in for the orchestrator's internal task API.

It records every request the gateway makes and can be told to fail, so tests can check what the
gateway forwards (and that it forwards nothing for invalid input) and how it reports faults. It
keeps tasks in memory and never runs them; the real orchestrator is tested in its own suite and
end to end.
"""

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from service_common.contracts import OrchestratorHealth, TaskCreate, TaskRecord, TaskStatus


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: object


@dataclass
class Fault:
    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)


class RecordingOrchestratorStub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.reset()

    # ---- test controls ----

    def reset(self) -> None:
        with self._lock:
            self.requests: list[RecordedRequest] = []
            self.tasks: dict[str, TaskRecord] = {}
            self.deployed_tiers = {"int4"}
            self.fault: Fault | None = None
            self.health = OrchestratorHealth(database_ok=True, active_tasks=0, endpoints=[])

    def add_task(self, record: TaskRecord) -> TaskRecord:
        with self._lock:
            self.tasks[record.task_id] = record
        return record

    def requests_to(self, prefix: str = "/internal/tasks") -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    def start(self) -> "RecordingOrchestratorStub":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- the internal API ----

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], body: object
    ) -> tuple[int, object]:
        with self._lock:
            self.requests.append(RecordedRequest(method, path, query, body))
            if self.fault is not None:
                return self.fault.status, self.fault.body
            if path == "/internal/health" and method == "GET":
                return 200, self.health.model_dump(mode="json")
            if path == "/internal/tasks" and method == "POST":
                return self._create(body)
            if path == "/internal/tasks" and method == "GET":
                return self._list(query)
            if path.startswith("/internal/tasks/"):
                task = self.tasks.get(path.rsplit("/", 1)[1])
                if task is None:
                    return 404, {"detail": "task not found", "retryable": False}
                if method == "GET":
                    return 200, task.model_dump(mode="json")
                if method == "DELETE":
                    del self.tasks[task.task_id]
                    return 204, None
            return 404, {"detail": f"no route {method} {path}", "retryable": False}

    def _create(self, body: object) -> tuple[int, object]:
        request = TaskCreate.model_validate(body)
        for name in ("vision_quantization", "text_quantization"):
            tier = getattr(request, name)
            if tier not in self.deployed_tiers:
                deployed = ", ".join(sorted(self.deployed_tiers))
                return 422, {
                    "detail": f"{name} {tier} is not deployed; deployed: {deployed}",
                    "retryable": False,
                }
        record = TaskRecord(
            task_id=str(uuid.uuid4()),
            status=TaskStatus.PENDING,
            youtube_url=request.youtube_url,
            created_at=datetime.now(UTC),
        )
        self.tasks[record.task_id] = record
        return 201, record.model_dump(mode="json")

    def _list(self, query: dict[str, list[str]]) -> tuple[int, object]:
        limit = int(query.get("limit", ["100"])[0])
        offset = int(query.get("offset", ["0"])[0])
        ordered = sorted(self.tasks.values(), key=lambda t: t.created_at, reverse=True)
        page = [t.model_dump(mode="json") for t in ordered[offset : offset + limit]]
        return 200, {"total": len(ordered), "tasks": page}

    def _handler_class(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real uvicorn service

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                status, payload = stub._answer(self.command, parts.path, parse_qs(parts.query), body)
                if isinstance(payload, bytes):  # a fault may answer something that is not JSON at all
                    data = payload
                else:
                    data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if stub.fault is not None:
                    for name, value in stub.fault.headers.items():
                        self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, *args) -> None:  # keep test output readable
                pass

        return Handler
