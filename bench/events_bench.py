"""Live progress under many listeners: GET /tasks/{id}/events on one gateway while tasks run.

    python -m bench.events_bench [--databases sqlite,postgresql] [--listeners 200] [--out docs/benchmarks.md]

The stack is the one `make run` starts (deploy/local/Procfile under scripts/local_stack, as in
bench.read_bench), on the lite backend but for the model calls, which go to a stand-in for a GPU model
server that answers each call after 0.5 s (a GPU cannot exist here). Four tasks of one uploaded 20 s video
(uniform frames, 16 each) are started together, and as soon as they exist 200 listeners (50 a task, on
asyncio in one process) open their event streams and read them to the end: every stage, every frame
analysed, the final task.

Event delay: an event's `id` is its task's version, the moment (UTC microseconds) of the write that made
the change, so a listener's delay is its arrival time less that moment, on the same clock. A stream's first
event (the task as it was when the stream opened) is not timed, nor are events that stand for stages
skipped between two asks, whose ids are made up (the previous id plus one).
Gateway CPU is the gateway process's user and system time over the run (from /proc), against the run's
wall time; the listeners' own process runs on the same 2 cores.

Target: every listener gets every change within 0.5 s of the write (the delay's maximum under 0.5 s).
"""

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx

from bench.databases import measure_on_each
from bench.process_figures import cpu_seconds
from bench.read_bench import stack_with_stand_in_models
from bench.report import machine, publish
from tests.support.videos import make_video

SECTION = "## Live progress under many listeners"
TASKS = 4
FRAMES = 16
MODEL_LATENCY_S = 0.5
TARGET_S = 0.5


@dataclass
class Figures:
    database: str
    listeners: int
    finished: int  # listeners whose stream ended with the final event
    events: int
    delays: list[float]
    wall_s: float
    gateway_cpu_s: float


def gateway_pid(port: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"gateway.app:create_app" in command and str(port).encode() in command:
                return int(entry.name)
    raise SystemExit(f"no gateway process on port {port}")


async def listen(http: aiohttp.ClientSession, url: str, delays: list[float]) -> tuple[int, bool]:
    """Reads one stream to its end; returns (events, ended with `done`)."""
    events, last_id, kind = 0, 0, None
    async with http.get(url) as response:
        response.raise_for_status()
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("id: "):
                event_id = int(line[4:])
                # The first event is the task as it was when the stream opened, not a change; a stage
                # filled in between two asks has a made-up id.
                if last_id and event_id != last_id + 1:
                    delays.append(time.time() - event_id / 1e6)
                last_id, events = event_id, events + 1
            elif line.startswith("event: "):
                kind = line[7:]
    return events, kind == "done"


async def run_listeners(api: str, task_ids: list[str], listeners: int, delays: list[float]) -> list[tuple[int, bool]]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as http:
        return await asyncio.gather(*(listen(http, f"{api}/tasks/{task_ids[n % len(task_ids)]}/events", delays)
                                      for n in range(listeners)))


def measure(database: str, database_url: str, listeners: int) -> Figures:
    with stack_with_stand_in_models(database_url, MODEL_LATENCY_S, "events-bench-") as (work, ports):
        api = f"http://127.0.0.1:{ports['gateway']}"
        pid = gateway_pid(ports["gateway"])
        video = make_video(work / "talk.mp4", seconds=20, size="320x180")
        with httpx.Client(base_url=api, timeout=60) as http, open(video, "rb") as handle:
            upload = http.post("/uploads", files={"file": ("talk.mp4", handle, "video/mp4")}).json()
            cpu_before, started = cpu_seconds(pid), time.monotonic()
            task_ids = [http.post("/analyze", json={"youtube_url": upload["url"], "max_frames": FRAMES,
                                                    "frame_strategy": "uniform"}).json()["task_id"]
                        for _ in range(TASKS)]
        delays: list[float] = []
        results = asyncio.run(run_listeners(api, task_ids, listeners, delays))
        wall, cpu = time.monotonic() - started, cpu_seconds(pid) - cpu_before
    figures = Figures(database, listeners, sum(done for _, done in results), sum(n for n, _ in results),
                      delays, wall, cpu)
    print(json.dumps({"database": database, "events": figures.events}), flush=True)
    return figures


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(figures: list[Figures]) -> str:
    lines = [f"Machine: {machine()}; "
             f"{TASKS} tasks of {FRAMES} frames, a model call answered after {MODEL_LATENCY_S} s.", "",
             "| database | listeners | ended with the task | events received | delay p50 | p99 | max "
             "| wall | gateway CPU |", "|---|---|---|---|---|---|---|---|---|"]
    for f in figures:
        lines.append(
            f"| {f.database} | {f.listeners} | {f.finished} | {f.events:,} | {_quantile(f.delays, .5) * 1000:.0f} ms "
            f"| {_quantile(f.delays, .99) * 1000:.0f} ms | {max(f.delays) * 1000:.0f} ms | {f.wall_s:.1f} s "
            f"| {f.gateway_cpu_s:.2f} s ({f.gateway_cpu_s / f.wall_s:.0%} of a core) |")
    lines.append("")
    for f in figures:
        met = f.finished == f.listeners and max(f.delays) < TARGET_S
        lines.append(f"- {f.database}: {f.finished} of {f.listeners} listeners got the final task; slowest event "
                     f"{max(f.delays) * 1000:.0f} ms after its write (target: all, under {TARGET_S * 1000:.0f} ms: "
                     f"{'met' if met else 'missed'})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--listeners", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    figures = measure_on_each(args.databases, lambda label, url: measure(label, url, args.listeners))
    publish(report(figures), args.out, SECTION, "bench.events_bench", __doc__)


if __name__ == "__main__":
    main()
