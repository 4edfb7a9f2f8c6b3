"""Reading tasks under load, through the gateway, beside a bare FastAPI endpoint serving the same bytes.

    python -m bench.read_bench [--databases sqlite,postgresql] [--seconds 8] [--out docs/benchmarks.md]
    (READ_BENCH_VERBOSE=1 prints each of wrk's own reports as well.)

The stack is the one `make run` starts: deploy/local/Procfile under its supervisor (scripts/local_stack),
every service with its default settings but `RATE_LIMIT=0` (one load generator would otherwise be one
client over its limit) and `WORKER_CONCURRENCY=8`. One more line runs the reference: a FastAPI app that
answers `GET /tasks/{id}` with fixed bytes (bench/bare_app.py), started with the gateway's own command
line, so the two differ only in what the gateway does for a request. It serves the very bytes the
gateway answers for the polled task, and both are measured side by side, in one run, on one machine.

The database holds 1,000 completed tasks of one key (each answer about 4 KB: 8 frames with their
analyses, summary, key points, a short transcript with its segments); the polled one is one of them. Load comes
from wrk (Debian's package) over loopback with 16 connections on 2 threads, for `--seconds` each:

- **idle**: nothing else runs.
- **8 running**: 8 tasks are in `analyzing_vision`, each on its own worker slot, against a stand-in
  for a GPU model server that answers each frame after 1 s (a GPU cannot exist here): their heartbeats
  and progress writes go to the database while the reads are measured.
- **list**: `GET /tasks?limit=100` (the newest 100 of the 1,000), idle.
- **pollers**: 1,000 connections, each asking for its own task every 5 s for 60 s (a wrk script: each
  connection waits 5 s after every answer; the first asks are spread over the first 5 s).

The polled task does not change while it is read, so after its first read the orchestrator answers it
from the answers it keeps (orchestrator/answers.py): on SQLite after a `PRAGMA data_version` look, on
PostgreSQL while its LISTEN connection is up; the 8 running tasks' writes drop what is kept on SQLite
(any commit does) and only their own answers on PostgreSQL.

Targets: the gateway at least 0.5x the bare endpoint's requests per second with p99 under 50 ms, idle
and with 8 running, on SQLite and PostgreSQL; the list's p99 under 100 ms; every poller answered, none
slower than 1 s. wrk's own CPU comes out of the same 2 cores as the stack's.

Orchestration overhead: one short video (20 s, 320x180, uploaded) analysed end to end on the lite
backend with max_frames 4, polled every 50 ms: the wall time from `POST /analyze` to `completed`,
against the sum of its stages' times from the task's status events (downloading to completed).
Target: at most 1.2x.
"""

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from bench.databases import measure_on_each
from bench.report import machine, publish
from bench.vision_bench import delayed_model_server
from tests.support.processes import free_port
from tests.support.videos import make_video

REPO = Path(__file__).resolve().parents[1]
PROCFILE = REPO / "deploy" / "local" / "Procfile"
SECTION = "## Reading tasks under load"
TASKS = 1000
BUSY_TASKS = 8
POLLERS, POLL_EVERY_S, POLL_FOR_S = 1000, 5, 60
MODEL_LATENCY_S = 3.0


@dataclass
class Load:
    """What wrk saw."""

    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors, timeouts and answers other than 2xx/3xx

    def row(self, label: str) -> str:
        return (f"| {label} | {self.per_second:,.0f} | {self.p50_ms:.1f} ms | {self.p99_ms:.1f} ms | "
                f"{self.max_ms:.0f} ms | {self.requests:,} | {self.errors} |")


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(url: str, seconds: float, connections: int = 16, script: Path | None = None) -> Load:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "2s"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True,
                         timeout=seconds + 60).stdout
    if os.environ.get("READ_BENCH_VERBOSE"):
        print(out)
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    errors += int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return Load(requests=int(re.search(r"(\d+) requests in", out).group(1)),
                per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                p50_ms=_ms(percentiles["50"]), p99_ms=_ms(percentiles["99"]), max_ms=_ms(latency.group(3)),
                errors=errors)


def poller_script(path: Path, task_ids: list[str]) -> Path:
    """wrk: each connection asks for a task, then again POLL_EVERY_S after each answer; wrk asks for
    every connection's delay in turn at the start, so the first asks are spread over one interval."""
    per_thread = POLLERS // 2
    path.write_text(f"""
local ids = {{{",".join(f'"{task_id}"' for task_id in task_ids)}}}
local asked, delays = 0, 0
function delay()
  delays = delays + 1
  if delays <= {per_thread} then return math.floor((delays - 1) * {POLL_EVERY_S * 1000} / {per_thread}) end
  return {POLL_EVERY_S * 1000}
end
function request()
  asked = asked + 1
  return wrk.format("GET", "/tasks/" .. ids[(asked % #ids) + 1])
end
""")
    return path


# ---- the stack ----


def bench_procfile(workdir: Path) -> Path:
    """make run's Procfile plus the bare endpoint, started with the gateway's own command line."""
    lines = PROCFILE.read_text().splitlines()
    gateway = next(line for line in lines if line.startswith("gateway:"))
    bare = (gateway.replace("gateway:", "bare:", 1).replace("gateway.app:create_app", "bench.bare_app:create_app")
            .replace("GATEWAY_PORT", "BARE_PORT"))
    path = workdir / "Procfile"
    path.write_text("\n".join([*lines, bare]) + "\n")
    return path


@contextlib.contextmanager
def local_stack(workdir: Path, database_url: str, model_url: str | None = None):
    """Every service of the Procfile (and the bare endpoint) under make run's supervisor, on the lite
    backend or, given `model_url`, with every model role there; yields the ports."""
    ports = {name: free_port() for name in ("gateway", "orchestrator", "media", "lite", "bare")}
    env = {
        **os.environ,
        "GATEWAY_PORT": str(ports["gateway"]), "ORCHESTRATOR_PORT": str(ports["orchestrator"]),
        "MEDIA_SERVICE_PORT": str(ports["media"]), "LITE_MODELS_PORT": str(ports["lite"]),
        "BARE_PORT": str(ports["bare"]),
        "ORCHESTRATOR_URL": f"http://127.0.0.1:{ports['orchestrator']}",
        "MEDIA_SERVICE_URL": f"http://127.0.0.1:{ports['media']}",
        "LITE_MODELS_URL": f"http://127.0.0.1:{ports['lite']}/v1",
        "DATABASE_URL": database_url, "MEDIA_DIR": str(workdir / "media"),
        "RATE_LIMIT": "0", "WORKER_CONCURRENCY": str(BUSY_TASKS),
    }
    if model_url:
        endpoint = {"base_url": model_url, "model": "stand-in"}
        env["MODEL_ENDPOINTS"] = json.dumps({role: {"int4": endpoint} for role in ("vision", "text")})
    log = open(workdir / "stack.log", "ab")
    runner = subprocess.Popen([sys.executable, "-m", "scripts.local_stack", "run", str(bench_procfile(workdir)),
                               "--dir", str(REPO)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        for name in ("gateway", "bare", "orchestrator", "media", "lite"):
            _wait_until_up(f"http://127.0.0.1:{ports[name]}/health", runner, workdir)
        yield ports
    finally:
        runner.send_signal(signal.SIGTERM)
        try:
            runner.wait(timeout=60)
        except subprocess.TimeoutExpired:
            runner.kill()
        log.close()


@contextlib.contextmanager
def stack_with_stand_in_models(database_url: str, latency_s: float, prefix: str):
    """local_stack in a folder of its own, every model role a stand-in for a GPU model server that answers
    each call after `latency_s`; yields (folder, ports)."""
    model_server = delayed_model_server(latency_s)
    model_server.handle_error = lambda *_: None  # calls of tasks deleted while running are cut off mid-answer
    model_url = f"http://127.0.0.1:{model_server.server_address[1]}/v1"
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as work, \
                local_stack(Path(work), database_url, model_url) as ports:
            yield Path(work), ports
    finally:
        model_server.shutdown()


def _wait_until_up(url: str, runner: subprocess.Popen, workdir: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if runner.poll() is not None:
            raise SystemExit(f"the stack stopped:\n{(workdir / 'stack.log').read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer in {timeout:.0f} s")


# ---- the tasks ----


def completed_task(task_id: str, number: int):
    """A finished analysis of a 3.5-minute video, as the pipeline stores one."""
    from orchestrator.clock import utcnow
    from orchestrator.models import Task

    finished = utcnow() - timedelta(seconds=TASKS - number)
    said = [f"Sentence {i} of what the presenter says about the results." for i in range(7)]
    frames = [{"index": i, "timestamp": 12.5 + 25.0 * i,
               "analysis": f"A presenter beside slide {i + 1}: a bar chart of quarterly sales."} for i in range(8)]
    return Task(
        id=task_id, owner="", status="completed", youtube_url=f"https://www.youtube.com/watch?v=video{number:05d}",
        request={"youtube_url": "", "max_frames": 8, "frame_strategy": "scenes"}, checkpoints={}, attempt=1,
        cancel_requested=False, created_at=finished - timedelta(minutes=2), updated_at=finished,
        completed_at=finished,
        video_info={"title": f"Quarterly results, part {number}", "duration": 212.0, "channel": "Example Corp"},
        summary="The presenter walks through the quarter's sales by region, explains why the north grew "
                "fastest, and closes with the plan for the next two quarters and the risks to it.",
        key_points=[f"[{i // 2:02d}:{i * 7 % 60:02d}] A point the video makes, number {i + 1}, in one sentence."
                    for i in range(6)],
        frame_analyses=[frame["analysis"] for frame in frames], frames=frames,
        transcript=" ".join(said),
        transcript_segments=[{"start": 2.0 * i, "end": 2.0 * i + 2.0, "text": text} for i, text in enumerate(said)],
        transcript_source="youtube_captions", transcript_language="en",
    )


def seed_tasks(database_url: str) -> list[str]:
    """TASKS completed tasks, written as the orchestrator writes them (its tables exist once it started)."""
    from orchestrator.db import create_db_engine, create_session_factory

    engine = create_db_engine(database_url)
    ids = [str(uuid.uuid4()) for _ in range(TASKS)]
    with create_session_factory(engine).begin() as session:
        session.add_all([completed_task(task_id, number) for number, task_id in enumerate(ids)])
    engine.dispose()
    return ids


def start_busy_tasks(api: str, workdir: Path) -> list[str]:
    """BUSY_TASKS tasks of one uploaded video, waited for until each is analysing its frames (which the
    stand-in model server makes last MODEL_LATENCY_S a frame)."""
    video = make_video(workdir / "busy.mp4", seconds=20, size="320x180")
    with httpx.Client(base_url=api, timeout=60) as http:
        with open(video, "rb") as handle:
            upload = http.post("/uploads", files={"file": ("busy.mp4", handle, "video/mp4")}).json()
        ids = [http.post("/analyze", json={"youtube_url": upload["url"], "max_frames": 32,
                                           "frame_strategy": "uniform"}).json()["task_id"]
               for _ in range(BUSY_TASKS)]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            statuses = [http.get(f"/tasks/{task_id}").json()["status"] for task_id in ids]
            if all(status == "analyzing_vision" for status in statuses):
                return ids
            if "failed" in statuses or "completed" in statuses:
                break
            time.sleep(0.5)
    raise SystemExit(f"the busy tasks did not all reach analyzing_vision: {statuses}")


def still_busy(api: str, ids: list[str]) -> bool:
    return all(httpx.get(f"{api}/tasks/{task_id}").json()["status"] == "analyzing_vision" for task_id in ids)


# ---- one database ----


@dataclass
class Figures:
    database: str
    bare_idle: Load
    gateway_idle: Load
    bare_busy: Load
    gateway_busy: Load
    busy_held: bool  # the 8 tasks were still running when the busy runs ended
    listing: Load
    pollers: Load


def measure(database: str, database_url: str, seconds: float) -> Figures:
    with stack_with_stand_in_models(database_url, MODEL_LATENCY_S, "read-bench-") as (work, ports):
        api, bare = (f"http://127.0.0.1:{ports[name]}" for name in ("gateway", "bare"))
        ids = seed_tasks(database_url)
        polled = ids[TASKS // 2]
        body = httpx.get(f"{api}/tasks/{polled}").content
        httpx.post(f"{bare}/body", content=body).raise_for_status()
        assert httpx.get(f"{bare}/tasks/{polled}").content == body
        print(f"{database}: the polled task's answer is {len(body):,} bytes", flush=True)

        wrk(f"{api}/tasks/{polled}", 2)  # warm both up: first connections, first queries
        wrk(f"{bare}/tasks/{polled}", 2)
        bare_idle, gateway_idle = wrk(f"{bare}/tasks/{polled}", seconds), wrk(f"{api}/tasks/{polled}", seconds)
        listing = wrk(f"{api}/tasks?limit=100", seconds)
        pollers = wrk(api, POLL_FOR_S, POLLERS, poller_script(work / "pollers.lua", ids))

        busy = start_busy_tasks(api, work)
        bare_busy, gateway_busy = wrk(f"{bare}/tasks/{polled}", seconds), wrk(f"{api}/tasks/{polled}", seconds)
        held = still_busy(api, busy)
        for task_id in busy:
            httpx.delete(f"{api}/tasks/{task_id}")
    return Figures(database, bare_idle, gateway_idle, bare_busy, gateway_busy, held, listing, pollers)


# ---- orchestration overhead ----


def overhead(workdir: Path) -> tuple[float, float]:
    """(wall seconds from submit to completed, seconds of the stages) for one short task on the lite
    backend, with make run's settings (its worker looks for work every POLL_INTERVAL_S, 0.5 s)."""
    from bench.analysis_bench import stage_seconds

    video = make_video(workdir / "short.mp4", seconds=20, size="320x180", with_audio=True)
    database = workdir / "tasks.db"
    with local_stack(workdir, f"sqlite:///{database}") as ports, \
            httpx.Client(base_url=f"http://127.0.0.1:{ports['gateway']}", timeout=60) as http:
        with open(video, "rb") as handle:
            upload = http.post("/uploads", files={"file": ("short.mp4", handle, "video/mp4")}).json()
        started = time.perf_counter()
        task_id = http.post("/analyze", json={"youtube_url": upload["url"], "max_frames": 4}).json()["task_id"]
        while (task := http.get(f"/tasks/{task_id}").json())["status"] not in ("completed", "failed"):
            time.sleep(0.05)
        wall = time.perf_counter() - started
    if task["status"] != "completed":
        raise SystemExit(f"the short task failed: {task['error']}")
    return wall, sum(spent for status, spent in stage_seconds(database, task_id) if status != "pending")


# ---- the report ----


def verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def report(figures: list[Figures], wall: float, stages: float) -> str:
    lines = [f"Machine: {machine()}; wrk with 16 connections, 2 threads.", ""]
    for f in figures:
        lines += [
            f"### {f.database}",
            "",
            "| load | requests/s | p50 | p99 | max | requests | errors |",
            "|---|---|---|---|---|---|---|",
            f.bare_idle.row("bare endpoint, idle"),
            f.gateway_idle.row("gateway `GET /tasks/{id}`, idle"),
            f.bare_busy.row(f"bare endpoint, {BUSY_TASKS} running"),
            f.gateway_busy.row(f"gateway `GET /tasks/{{id}}`, {BUSY_TASKS} running"),
            f.listing.row("gateway `GET /tasks?limit=100`, idle"),
            f.pollers.row(f"{POLLERS:,} pollers every {POLL_EVERY_S} s for {POLL_FOR_S} s"),
            "",
        ]
        for label, bare, gateway in (("idle", f.bare_idle, f.gateway_idle),
                                     (f"{BUSY_TASKS} running", f.bare_busy, f.gateway_busy)):
            ratio = gateway.per_second / bare.per_second
            lines.append(f"- {label}: gateway/bare {ratio:.2f} (target ≥ 0.5: {verdict(ratio >= 0.5)}), "
                         f"p99 {gateway.p99_ms:.1f} ms (target < 50 ms: {verdict(gateway.p99_ms < 50)})"
                         + ("" if label == "idle" or f.busy_held else "; the tasks had moved on before the end"))
        lines.append(f"- list of 100: p99 {f.listing.p99_ms:.1f} ms (target < 100 ms: "
                     f"{verdict(f.listing.p99_ms < 100)})")
        expected = POLLERS * POLL_FOR_S // POLL_EVERY_S
        lines.append(f"- pollers: {f.pollers.requests:,} answers of about {expected:,} asked, {f.pollers.errors} "
                     f"errors, slowest {f.pollers.max_ms:.0f} ms (target: all answered, none over 1 s: "
                     f"{verdict(f.pollers.errors == 0 and f.pollers.max_ms < 1000)})")
        lines.append("")
    ratio = wall / stages
    lines += [
        "### Orchestration overhead",
        "",
        f"One 20 s video, max_frames 4, lite backend, SQLite: {wall:.2f} s from submit to completed, "
        f"{stages:.2f} s in its stages: {ratio:.2f}x (target ≤ 1.2x: {verdict(ratio <= 1.2)}).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    figures = measure_on_each(args.databases, lambda label, url: measure(label, url, args.seconds))
    with tempfile.TemporaryDirectory(prefix="read-bench-overhead-") as folder:
        wall, stages = overhead(Path(folder))
    publish(report(figures, wall, stages), args.out, SECTION, "bench.read_bench", __doc__)


if __name__ == "__main__":
    main()
