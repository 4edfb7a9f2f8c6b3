"""The API guide's test script: 1) health check, 2) an analysis request, 3) waiting for it (checking every
5 seconds), 4) the result, 5) the task list.

    .venv/bin/python test_api.py [VIDEO_URL]

API_URL says where the API is (default http://localhost:8000); API_KEY is sent as a Bearer key when the
service has API_KEYS. Exits 0 once the task completed, 1 when it failed or was refused, 2 when the API
cannot be reached. A script to run by hand: pytest's testpaths leave it out, and it has no test functions.
"""

import os
import sys
import time

import requests

API_URL = os.environ.get("API_URL", "http://localhost:8000").rstrip("/")
API_KEY = os.environ.get("API_KEY")
DEFAULT_VIDEO_URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
CHECK_EVERY_S = 5
TERMINAL = ("completed", "failed")
HEADERS = {"Authorization": f"Bearer {API_KEY}"} if API_KEY else {}


class Stop(Exception):
    """Ends the script with a message and an exit code."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def call(method: str, path: str, **kwargs) -> dict:
    try:
        response = requests.request(method, f"{API_URL}{path}", headers=HEADERS, timeout=30, **kwargs)
    except requests.RequestException as exc:
        raise Stop(f"Cannot reach the API at {API_URL} ({type(exc).__name__}). Is the server running "
                   "(make run)? Set API_URL to its address.", 2) from None
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:300]}
    if response.status_code >= 400 and not (path == "/health" and response.status_code == 503):
        raise Stop(f"{method} {path} answered {response.status_code}: {body.get('detail', body)}", 1)
    return body


def check_health() -> None:
    print("1. Health check")
    health = call("GET", "/health")
    gpu = health.get("gpu_name") or ("yes" if health.get("gpu_available") else "none")
    print(f"   status: {health.get('status')}, GPU: {gpu}, active tasks: {health.get('active_tasks')}")
    if health.get("status") == "unhealthy":
        raise Stop(f"The API is unhealthy: {health.get('detail')}", 2)


def request_analysis(video_url: str) -> str:
    print(f"\n2. Analysis request: {video_url}")
    started = call("POST", "/analyze", json={"youtube_url": video_url, "max_frames": 8})
    print(f"   task {started['task_id']}: {started['status']} ({started.get('message')})")
    return started["task_id"]


def wait_for(task_id: str) -> dict:
    print(f"\n3. Waiting for the task (checking every {CHECK_EVERY_S} seconds)")
    while True:
        task = call("GET", f"/tasks/{task_id}")
        if task["status"] in TERMINAL:
            print(f"   {task['status']}")
            return task
        fraction = (task.get("progress") or {}).get("fraction")
        print(f"   in progress: {task['status']}" + (f" ({fraction:.0%})" if fraction is not None else ""))
        time.sleep(CHECK_EVERY_S)


def print_result(task: dict) -> None:
    print("\n4. Result")
    if task["status"] == "failed":
        print(f"   failed: {task.get('error')}")
        return
    info = task.get("video_info") or {}
    print(f"   title: {info.get('title')}  duration: {info.get('duration')} s  channel: {info.get('channel')}")
    print(f"   summary: {task.get('summary')}")
    print("   key points:")
    for point in task.get("key_points") or []:
        print(f"     - {point}")
    print("   frames:")
    for number, analysis in enumerate(task.get("frame_analyses") or [], 1):
        print(f"     {number}. {analysis}")
    transcript = task.get("transcript") or ""
    print(f"   transcript ({len(transcript)} characters): {transcript[:300]}{'…' if len(transcript) > 300 else ''}")


def list_tasks() -> None:
    print("\n5. Task list")
    listing = call("GET", "/tasks")
    print(f"   {listing['total']} task(s)")
    for task in listing["tasks"]:
        print(f"   {task['task_id']}  {task['status']:<21}  {task['created_at']}  {task['youtube_url']}")


def main(video_url: str) -> int:
    try:
        check_health()
        task = wait_for(request_analysis(video_url))
        print_result(task)
        list_tasks()
        if task["status"] == "failed":
            raise Stop(f"The analysis failed: {task.get('error')}", 1)
    except Stop as stop:
        print(f"\nError: {stop}", file=sys.stderr)
        return stop.code
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    print("\nDone.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_VIDEO_URL))
