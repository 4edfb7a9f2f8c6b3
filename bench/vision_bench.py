"""The vision stage against an OpenAI-compatible server that answers after a set latency.

    python -m bench.vision_bench [--frames 32] [--concurrency 4] [--latency 0.5] [--out docs/benchmarks.md]

With C calls in flight per endpoint and L seconds per call, N frames cannot take less than
ceil(N/C)·L; the target is at most 1.2× that. Sequential calls (C = 1) take N·L. The server is a
local stand-in with a fixed delay (no model), so what is measured is the stage's own scheduling:
fetching each frame, building the request, bounding concurrency and collecting the answers.
"""

import argparse
import asyncio
import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from bench.report import publish
from orchestrator.clients.models import ModelClient
from orchestrator.config import ModelEndpoint, OrchestratorSettings
from orchestrator.deployments import Deployments
from orchestrator.pipeline import Pipeline, StageContext
from orchestrator.stage_results import Checkpoints

SECTION = "## Vision stage"
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f"
    "1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f0000"
    "010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d010203000411"
    "05122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445"
    "464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9"
    "aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100"
    "003f00fbd3ffd9")


def delayed_model_server(latency_s: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            time.sleep(latency_s)
            body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "bench",
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": "a frame"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class InMemoryFrames:
    """Stands in for the media service: every frame is the same tiny JPEG, served at once."""

    async def frame_image(self, media_id: str, index: int, request=None) -> bytes:
        return TINY_JPEG


async def vision_stage_seconds(base_url: str, frames: int, concurrency: int) -> float:
    endpoint = ModelEndpoint(base_url=base_url, model="bench")
    settings = OrchestratorSettings(model_endpoints={"vision": {"int4": endpoint}, "text": {"int4": endpoint}},
                                    model_concurrency=concurrency)

    async def report(_progress: dict) -> None:
        pass

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=256)) as http:
        pipeline = Pipeline(settings, InMemoryFrames(), ModelClient(http, concurrency, 60),
                            deployments=Deployments.from_settings(settings))
        checkpoints = Checkpoints.from_stored({"extracting_frames": {"media_id": "m", "frames": [
            {"index": i, "timestamp": float(i), "width": 1, "height": 1} for i in range(frames)]}})
        context = StageContext("bench", {"vision_quantization": "int4"}, checkpoints, report)
        started = time.perf_counter()
        output = await pipeline.analyze_vision(context)
        elapsed = time.perf_counter() - started
    assert len(output.checkpoint.analyses) == frames
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    server = delayed_model_server(args.latency)
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    ours = asyncio.run(vision_stage_seconds(base, args.frames, args.concurrency))
    sequential = asyncio.run(vision_stage_seconds(base, args.frames, 1))
    server.shutdown()
    floor = math.ceil(args.frames / args.concurrency) * args.latency
    table = "\n".join([
        f"### Vision stage: {args.frames} frames, {args.concurrency} calls in flight, {args.latency:g} s per call",
        "",
        "| run | seconds | × the bound ceil(N/C)·L |",
        "|---|---|---|",
        f"| bound ceil(N/C)·L | {floor:.2f} | 1.00 |",
        f"| ours, concurrency {args.concurrency} | {ours:.2f} | {ours / floor:.2f} |",
        f"| sequential calls (concurrency 1) | {sequential:.2f} | {sequential / floor:.2f} |",
        "",
        f"ours: {ours / floor:.2f}× the bound (target ≤ 1.2×: {'met' if ours / floor <= 1.2 else 'missed'}); "
        f"{sequential / ours:.1f}× faster than sequential calls.",
    ])
    publish(table, args.out, SECTION, "bench.vision_bench", __doc__)


if __name__ == "__main__":
    main()
