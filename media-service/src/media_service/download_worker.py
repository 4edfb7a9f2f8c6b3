"""Child process that does every outbound fetch: `python -m media_service.download_worker`.

It reads one JSON job on stdin and writes one JSON result to the job's `result_path`. Running
apart from the service lets the connection guard (an audit hook, which cannot be removed) apply
to everything the fetch does, and lets the service kill a fetch that runs too long.

Jobs: {"action": "download" | "fetch" | "youtube_transcript", ...} with the fields below.
"""

import json
import signal
import sys
from pathlib import Path

from media_service.egress import install_connect_guard, proxy_endpoints
from media_service.fetch_errors import Failure, classify

# What went wrong inside yt-dlp's callbacks, which yt-dlp would otherwise swallow or reword.
_events: dict[str, str] = {}


def _record(kind: str, message: str) -> None:
    _events.setdefault(kind, message)


class _Quiet:
    """yt-dlp logger: keep nothing on stdout; errors come back through exceptions."""

    def debug(self, msg: str) -> None:
        pass

    info = warning = debug

    def error(self, msg: str) -> None:
        _record("error", msg)


def _ydl_options(job: dict) -> dict:
    height = int(job.get("max_height", 720))
    max_bytes = int(job["max_bytes"])

    def limit_size(progress: dict) -> None:
        # max_filesize only applies when the size is announced; this also stops unannounced ones.
        if (progress.get("downloaded_bytes") or 0) > max_bytes:
            _record("too_large", f"the video is larger than the limit of {max_bytes // 2**20} MB")
            raise ValueError(_events["too_large"])

    def reject_live(info: dict, *, incomplete: bool = False) -> str | None:
        if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming", "post_live"):
            _record("live", "live streams are not supported")
            return _events["live"]
        return None

    return {
        "format": f"b[height<=?{height}]/bv*[height<=?{height}]/b/bv*",
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
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
        "usenetrc": False,
        "cookiefile": None,
        "cachedir": False,
        "max_filesize": max_bytes,
        "socket_timeout": float(job.get("socket_timeout", 30)),
        "retries": 2,
        "fragment_retries": 2,
        "extractor_retries": 1,
        "concurrent_fragment_downloads": 1,
        "proxy": job.get("proxy") or None,
        "match_filter": reject_live,
        "progress_hooks": [limit_size],
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
)


def download(job: dict) -> dict:
    import yt_dlp

    with yt_dlp.YoutubeDL(_ydl_options(job)) as ydl:
        info = ydl.extract_info(job["url"], download=True)
    if info and info.get("_type") == "playlist":
        entries = [e for e in info.get("entries") or [] if e]
        info = entries[0] if entries else None
    if info is None:
        raise LookupError("no video found at this URL")
    files = [d.get("filepath") for d in info.get("requested_downloads") or [] if d.get("filepath")]
    files = [f for f in files if Path(f).is_file()]
    if not files:
        for kind in ("live", "too_large"):
            if kind in _events:
                raise LookupError(_events[kind])
        if info.get("filesize") or info.get("filesize_approx"):
            raise LookupError(f"the video is larger than the limit of {int(job['max_bytes']) // 2**20} MB")
        raise LookupError(_events.get("error") or "no video file was downloaded")
    result = {key: info.get(key) for key in INFO_FIELDS}
    result["filepath"] = files[0]
    result["subtitles"] = _subtitles(info)
    return {"ok": True, "info": result}


def fetch(job: dict) -> dict:
    """Fetch one small file (a subtitle track) through yt-dlp's networking, so proxies apply alike."""
    import yt_dlp
    from yt_dlp.networking import Request

    max_bytes = int(job["max_bytes"])
    options = {
        "quiet": True,
        "no_warnings": True,
        "logger": _Quiet(),
        "usenetrc": False,
        "socket_timeout": float(job.get("socket_timeout", 30)),
        "proxy": job.get("proxy") or None,
    }
    with yt_dlp.YoutubeDL(options) as ydl, ydl.urlopen(Request(job["url"])) as response:
        data = response.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise LookupError(f"the file is larger than the limit of {max_bytes} bytes")
    Path(job["out_path"]).write_bytes(data)
    return {"ok": True}


def youtube_transcript(job: dict) -> dict:
    from youtube_transcript_api import YouTubeTranscriptApi
    from youtube_transcript_api.proxies import GenericProxyConfig

    from media_service.transcripts import snippets_to_segments

    proxy = job.get("proxy")
    config = GenericProxyConfig(http_url=proxy, https_url=proxy) if proxy else None
    fetched = YouTubeTranscriptApi(proxy_config=config).fetch(job["video_id"], languages=job["languages"])
    return {"ok": True, "language": fetched.language_code, "segments": snippets_to_segments(fetched.snippets)}


ACTIONS = {"download": download, "fetch": fetch, "youtube_transcript": youtube_transcript}


def run(job: dict) -> dict:
    try:
        endpoints = proxy_endpoints(job.get("proxy"))
    except OSError as exc:
        return Failure(f"proxy {job.get('proxy')!r} cannot be resolved: {exc}", 502, True).as_json()
    install_connect_guard(job.get("allow_cidrs") or [], endpoints, lambda reason: _record("refused", reason))
    try:
        return ACTIONS[job["action"]](job)
    except Exception as exc:  # noqa: BLE001 - every failure must come back as one readable line
        if "refused" in _events:
            return Failure(_events["refused"]).as_json()
        return classify(exc).as_json()


def _die_with_parent() -> None:
    """A worker orphaned by a killed service must not go on downloading (Linux; elsewhere a no-op)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main() -> int:
    _die_with_parent()
    job = json.loads(sys.stdin.read())
    result = run(job)
    tmp = Path(job["result_path"] + ".tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    tmp.replace(job["result_path"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
