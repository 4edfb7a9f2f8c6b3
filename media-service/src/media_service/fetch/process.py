"""The child process that does every outbound fetch: `python -m media_service.fetch.process`.

It reads one JSON job on stdin and writes one JSON result to the job's `result_path` (see
child_process.py). Running apart from the service lets the connection guard (an audit hook, which
cannot be removed) apply to everything the fetch does, and lets the service kill a fetch that runs
too long.

Jobs: {"action": "download" | "fetch" | "youtube_transcript", ...} with the fields below.
"""

import sys
from pathlib import Path

from media_service.child_process import serve_one_job
from media_service.fetch.egress import (
    Endpoints,
    UnguardedFetch,
    install_connect_guard,
    proxy_endpoints,
    require_connect_guard,
)
from media_service.fetch.failures import Failure, classify
from media_service.fetch.incidents import REFUSED, TOO_LARGE, Incidents
from media_service.fetch.policy import Limits, PolicyRefusal, size_refusal
from media_service.fetch.video_download import download
from media_service.fetch.ytdlp_options import fetch_options, without_plugins_or_programs

__all__ = ["ACTIONS", "UnguardedFetch", "download", "fetch", "main", "run", "youtube_transcript"]


def fetch(job: dict, incidents: Incidents) -> dict:
    """Fetch one small file (a subtitle track) through yt-dlp's networking, so proxies apply alike."""
    require_connect_guard()
    import yt_dlp
    from yt_dlp.networking import Request

    without_plugins_or_programs()
    max_bytes = int(job["max_bytes"])
    with yt_dlp.YoutubeDL(fetch_options(job, incidents)) as ydl, ydl.urlopen(Request(job["url"])) as response:
        data = response.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise LookupError(f"the file is larger than the limit of {max_bytes} bytes")
    Path(job["out_path"]).write_bytes(data)
    return {"ok": True}


def youtube_transcript(job: dict, incidents: Incidents) -> dict:
    """YouTube's captions; a failure comes back as a note in an ok result, for the chain goes on."""
    require_connect_guard()
    from media_service.transcripts.youtube_captions import fetch_youtube_captions

    found = fetch_youtube_captions(
        job["video_id"],
        job.get("languages") or [],
        video_language=job.get("video_language"),
        proxy=job.get("proxy"),
        timeout=float(job.get("socket_timeout", 30)),
    )
    if not found["segments"] and REFUSED in incidents:
        # The connection guard's own words say more than the network error they caused.
        found = {**found, "note": f"YouTube could not be reached: {incidents.get(REFUSED)}", "final": False}
    return {"ok": True, **found}


ACTIONS = {"download": download, "fetch": fetch, "youtube_transcript": youtube_transcript}


def run(job: dict) -> dict:
    incidents = Incidents()
    try:
        endpoints = proxy_endpoints(job.get("proxy"))
    except OSError as exc:
        return Failure(f"proxy {job.get('proxy')!r} cannot be resolved: {exc}", 502, True).as_json()
    install_connect_guard(
        job.get("allow_cidrs") or [],
        endpoints,
        lambda reason: incidents.record(REFUSED, reason),
        internal=Endpoints.resolve(job.get("internal_endpoints") or []),
        opened=Endpoints.resolve(job.get("allow_endpoints") or []),
    )
    try:
        return ACTIONS[job["action"]](job, incidents)
    except Exception as exc:  # noqa: BLE001 - every failure must come back as one readable line
        return _failure(exc, job, incidents).as_json()


def _failure(exc: Exception, job: dict, incidents: Incidents) -> Failure:
    if REFUSED in incidents:
        return Failure(incidents.get(REFUSED))
    if isinstance(exc, PolicyRefusal):
        return Failure(str(exc))
    if TOO_LARGE in incidents:  # the size hook's exception may reach here wrapped by yt-dlp
        return Failure(size_refusal(Limits.from_job(job)))
    return classify(exc)


def main() -> int:
    return serve_one_job(run)


if __name__ == "__main__":
    sys.exit(main())
