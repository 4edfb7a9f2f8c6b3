"""Child process that does every outbound fetch: `python -m media_service.download_worker`.

It reads one JSON job on stdin and writes one JSON result to the job's `result_path`. Running
apart from the service lets the connection guard (an audit hook, which cannot be removed) apply
to everything the fetch does, and lets the service kill a fetch that runs too long.

Jobs: {"action": "download" | "fetch" | "youtube_transcript", ...} with the fields below.
"""

import json
import os
import sys
from pathlib import Path

from media_service.egress import Endpoints, connect_guard_installed, install_connect_guard, proxy_endpoints
from media_service.extractor_trust import record_handed_urls, trusted_id
from media_service.fetch_errors import Failure, classify
from media_service.policy import (
    Limits,
    PolicyRefusal,
    format_selector,
    info_refusal,
    joined,
    media_key,
    protocol_refusal,
    separate_streams,
    size_refusal,
)
from media_service.progress import ProgressEvents
from media_service.worker_client import die_with_parent, write_result

# What went wrong inside yt-dlp's callbacks, which yt-dlp would otherwise swallow or reword.
_events: dict[str, str] = {}


def _record(kind: str, message: str) -> None:
    _events.setdefault(kind, message)


class _Quiet:
    """yt-dlp logger: keep nothing on stdout; errors come back through exceptions."""

    def debug(self, msg: str) -> None:
        # The one sign that yt-dlp skipped a file over max_filesize (it is no error to yt-dlp).
        if "larger than max-filesize" in msg:
            _record("too_large", msg)

    info = warning = debug

    def error(self, msg: str) -> None:
        _record("error", msg)


class UnguardedFetch(RuntimeError):
    """A fetch was asked for in a process whose connection guard is not in place."""


def _require_connect_guard() -> None:
    # The generic extractor follows whatever a page names: without the guard it would reach anything.
    if not connect_guard_installed():
        raise UnguardedFetch("refusing to fetch: the connection guard is not installed in this process")


# A path that cannot exist (/dev/null is no directory): yt-dlp then finds no ffmpeg, wherever one is.
NO_FFMPEG = os.path.join(os.devnull, "ffmpeg")


def _without_plugins_or_programs() -> None:
    """yt-dlp imports plugins from config folders and sys.path; none are wanted, so none are loaded
    (the API's equivalent of --no-plugin-dirs). Config files are read only by yt-dlp's command line.

    Nor may it find an ffmpeg on PATH: it hands streams it cannot download itself (AES-128 HLS without
    pycryptodomex, some playlist features) to ffmpeg, whose connections the guard never sees. Its check
    for one reads this setting, not the options (which `ffmpeg_location` in them covers)."""
    from yt_dlp.globals import plugin_dirs
    from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

    plugin_dirs.value = []
    FFmpegPostProcessor._ffmpeg_location.set(NO_FFMPEG)


def _ydl_options(job: dict, events: ProgressEvents | None = None) -> dict:
    limits = Limits.from_job(job)
    by_file: dict[str, int] = {}  # bytes so far of each file (a video and an audio part are two)

    def on_progress(progress: dict) -> None:
        this_file = progress.get("downloaded_bytes") or 0
        earlier = sum(n for name, n in by_file.items() if name != progress.get("filename"))
        by_file[progress.get("filename") or ""] = this_file
        downloaded = earlier + this_file
        total = progress.get("total_bytes") or progress.get("total_bytes_estimate")
        total = earlier + total if total else None
        # max_filesize only applies when the size is announced; this also stops unannounced ones.
        if downloaded > limits.max_bytes:
            _record("too_large", size_refusal(limits))
            raise PolicyRefusal(size_refusal(limits))
        if events is not None:
            finished = progress.get("status") == "finished"
            events.downloading(downloaded, int(total) if total else None, force=finished)

    return {
        "format": format_selector(limits.max_height),
        "outtmpl": {"default": str(Path(job["out_dir"]) / "video.%(ext)s")},
        "paths": {"home": job["out_dir"], "temp": job["out_dir"]},
        "noplaylist": True,
        "playlist_items": "1",
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "color": {"stdout": "no_color", "stderr": "no_color"},
        "logger": _Quiet(),
        "restrictfilenames": True,
        # Every protocol in Python: an external downloader's connections escape the guard.
        "external_downloader": {"default": "native"},
        "ffmpeg_location": NO_FFMPEG,
        "hls_prefer_native": True,
        "usenetrc": False,
        "cookiefile": None,
        "cachedir": False,
        # A fragment that failed (a refused destination among them) fails the download, not a gap in it.
        "skip_unavailable_fragments": False,
        "max_filesize": limits.max_bytes,
        "socket_timeout": float(job.get("socket_timeout", 30)),
        "retries": 2,
        "fragment_retries": 2,
        "extractor_retries": 1,
        "concurrent_fragment_downloads": 1,
        "proxy": job.get("proxy") or None,
        "progress_hooks": [on_progress],
        "postprocessors": [],
        "updatetime": False,
    }


READABLE_SUBTITLES = ("vtt", "srt")


def _subtitles(info: dict) -> list[dict]:
    """Subtitle tracks per language; where vtt or srt exists, the other formats are left out."""
    tracks = []
    for key, automatic in (("subtitles", False), ("automatic_captions", True)):
        for language, entries in (info.get(key) or {}).items():
            if language == "live_chat":
                continue
            entries = [e for e in entries or [] if e.get("url") and e.get("ext")]
            readable = [e for e in entries if e["ext"].lower() in READABLE_SUBTITLES]
            for entry in readable or entries:
                track = {
                    "language": language,
                    "ext": entry["ext"],
                    "url": entry["url"],
                    "automatic": automatic,
                }
                tracks.append(track)
    return tracks


INFO_FIELDS = (
    "title",
    "duration",
    "channel",
    "uploader",
    "uploader_id",
    "webpage_url",
    "webpage_url_domain",
    "extractor",
    "extractor_key",
    "ext",
    "width",
    "height",
    "language",
)


def _first_video(info: dict | None) -> dict:
    if info and info.get("_type") == "playlist":
        entries = [e for e in info.get("entries") or [] if e]
        info = entries[0] if entries else None
    if info is None:
        raise LookupError("no video found at this URL")
    return info


def _event_stream() -> ProgressEvents:
    """Events go to the service on the original stdout; anything else printing there goes nowhere."""
    stream = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return ProgressEvents(stream)


def download(job: dict) -> dict:
    """Extract, apply the policy, tell the service which video this is ("extracted" event with its
    media key), and download only if the service answers "go" on stdin (it may have it already)."""
    _require_connect_guard()
    import yt_dlp
    from yt_dlp.utils import determine_protocol

    _without_plugins_or_programs()
    events = _event_stream()
    limits = Limits.from_job(job)
    events.send("progress", state="extracting")
    with yt_dlp.YoutubeDL(_ydl_options(job, events)) as ydl:
        handed_urls = record_handed_urls(ydl)
        info = _first_video(ydl.extract_info(job["url"], download=False))
        parts = separate_streams(info, limits.max_height)
        apart = joined(info, parts) if parts else None
        if apart is not None and protocol_refusal(apart, determine_protocol) is None:
            info = apart
            _download_apart(ydl, info["format_id"], Path(job["out_dir"]))
        else:
            parts = None
        if refusal := info_refusal(info, limits) or protocol_refusal(info, determine_protocol):
            raise PolicyRefusal(refusal)
        key = media_key(info, trusted_id(info, handed_urls), job.get("proxy"))
        events.send("extracted", media_key=key)
        if sys.stdin.readline().strip() != "go":
            return {"ok": True, "skipped": True, "media_key": key}
        size = info.get("filesize") or info.get("filesize_approx")
        events.downloading(0, int(size) if size else None, force=True)
        # The same instance: its cookies from the extraction may be what the media URLs need.
        downloaded = ydl.process_ie_result(ydl.sanitize_info(info, remove_private_keys=True), download=True)
    by_format = {str(d.get("format_id")): Path(d["filepath"]) for d in downloaded.get("requested_downloads") or []
                 if d.get("filepath") and Path(d["filepath"]).is_file()}
    files = [by_format[f["format_id"]] for f in parts if f["format_id"] in by_format] if parts else [
        *by_format.values()]
    if not files or (parts and len(files) != len(parts)):
        # yt-dlp skips a file over max_filesize without an error: say so rather than "no file".
        if "too_large" in _events or info.get("filesize") or info.get("filesize_approx"):
            raise PolicyRefusal(size_refusal(limits))
        raise LookupError(_events.get("error") or "no video file was downloaded")
    result = {key: downloaded.get(key) for key in INFO_FIELDS}
    result["filepath"] = str(files[0])
    if parts:
        from media_service.remux import join_parts  # PyAV: only for downloads in parts

        result.update(join_parts(*files, Path(job["out_dir"])), width=info.get("width"), height=info.get("height"))
    result["subtitles"] = _subtitles(downloaded)
    return {"ok": True, "info": result, "media_key": key}


def _download_apart(ydl, formats: str, out_dir: Path) -> None:
    """Make `ydl` download each of `formats` ("137,140") to a file of its own, named apart (a WebM video
    and a WebM audio part would otherwise collide). yt-dlp compiles its format option when created."""
    ydl.params["format"] = formats
    ydl.format_selector = ydl.build_format_selector(formats)
    ydl.params["outtmpl"] = {"default": str(out_dir / "part.f%(format_id)s.%(ext)s")}


def _fetch_options(job: dict) -> dict:
    return {
        "quiet": True,
        "no_warnings": True,
        "logger": _Quiet(),
        "usenetrc": False,
        "cookiefile": None,
        "cachedir": False,
        "ffmpeg_location": NO_FFMPEG,
        "socket_timeout": float(job.get("socket_timeout", 30)),
        "proxy": job.get("proxy") or None,
    }


def fetch(job: dict) -> dict:
    """Fetch one small file (a subtitle track) through yt-dlp's networking, so proxies apply alike."""
    _require_connect_guard()
    import yt_dlp
    from yt_dlp.networking import Request

    _without_plugins_or_programs()
    max_bytes = int(job["max_bytes"])
    with yt_dlp.YoutubeDL(_fetch_options(job)) as ydl, ydl.urlopen(Request(job["url"])) as response:
        data = response.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise LookupError(f"the file is larger than the limit of {max_bytes} bytes")
    Path(job["out_path"]).write_bytes(data)
    return {"ok": True}


def youtube_transcript(job: dict) -> dict:
    """YouTube's captions; a failure comes back as a note in an ok result, for the chain goes on."""
    _require_connect_guard()
    from media_service.youtube_captions import fetch_youtube_captions

    found = fetch_youtube_captions(
        job["video_id"],
        job.get("languages") or [],
        video_language=job.get("video_language"),
        proxy=job.get("proxy"),
        timeout=float(job.get("socket_timeout", 30)),
    )
    if not found["segments"] and "refused" in _events:
        # The connection guard's own words say more than the network error they caused.
        found = {**found, "note": f"YouTube could not be reached: {_events['refused']}", "final": False}
    return {"ok": True, **found}


ACTIONS = {"download": download, "fetch": fetch, "youtube_transcript": youtube_transcript}


def run(job: dict) -> dict:
    try:
        endpoints = proxy_endpoints(job.get("proxy"))
    except OSError as exc:
        return Failure(f"proxy {job.get('proxy')!r} cannot be resolved: {exc}", 502, True).as_json()
    install_connect_guard(
        job.get("allow_cidrs") or [],
        endpoints,
        lambda reason: _record("refused", reason),
        internal=Endpoints.resolve(job.get("internal_endpoints") or []),
        opened=Endpoints.resolve(job.get("allow_endpoints") or []),
    )
    try:
        return ACTIONS[job["action"]](job)
    except Exception as exc:  # noqa: BLE001 - every failure must come back as one readable line
        if "refused" in _events:
            return Failure(_events["refused"]).as_json()
        if isinstance(exc, PolicyRefusal):
            return Failure(str(exc)).as_json()
        if "too_large" in _events:  # the size hook's exception may reach here wrapped by yt-dlp
            return Failure(size_refusal(Limits.from_job(job))).as_json()
        return classify(exc).as_json()


def main() -> int:
    die_with_parent()  # an orphaned worker must not go on downloading
    job = json.loads(sys.stdin.readline())  # a download job reads its "go" from the next line
    write_result(job["result_path"], run(job))
    return 0


if __name__ == "__main__":
    sys.exit(main())
