"""The fetch process's download: extract, apply the policy, tell the service which video this is
("extracted" event with its media key), and download only if the service answers "go" on stdin (it may
have the video already). Where the best picture comes without sound, the picture and the sound are
downloaded apart and joined (remux.py)."""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .egress import require_connect_guard
from .extractor_trust import record_handed_urls, trusted_id
from .incidents import ERROR, TOO_LARGE, Incidents
from .policy import (
    Limits,
    PolicyRefusal,
    info_refusal,
    joined,
    media_key,
    protocol_refusal,
    separate_streams,
    size_refusal,
)
from .progress import ProgressEvents
from .ytdlp_options import download_options, without_plugins_or_programs

READABLE_SUBTITLES = ("vtt", "srt")
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


@dataclass
class Chosen:
    info: dict  # what yt-dlp extracted, as if it had chosen `parts` when they are set
    parts: list[dict] | None  # [video-only format, audio-only format] fetched apart, or None: one file


def download(job: dict, incidents: Incidents) -> dict:
    """The download action: its result, or {"skipped": True} when the service did not say "go"."""
    require_connect_guard()
    import yt_dlp

    without_plugins_or_programs()
    events = _event_stream()
    limits = Limits.from_job(job)
    out_dir = Path(job["out_dir"])
    events.send("progress", state="extracting")
    with yt_dlp.YoutubeDL(download_options(job, incidents, events)) as ydl:
        handed_urls = record_handed_urls(ydl)
        chosen = _choose(ydl, job["url"], limits, out_dir)
        key = media_key(chosen.info, trusted_id(chosen.info, handed_urls), job.get("proxy"))
        events.send("extracted", media_key=key)
        if sys.stdin.readline().strip() != "go":
            return {"ok": True, "skipped": True, "media_key": key}
        size = chosen.info.get("filesize") or chosen.info.get("filesize_approx")
        events.downloading(0, int(size) if size else None, force=True)
        # The same instance: its cookies from the extraction may be what the media URLs need.
        downloaded = ydl.process_ie_result(ydl.sanitize_info(chosen.info, remove_private_keys=True), download=True)
    files = _downloaded_files(downloaded, chosen, limits, incidents)
    return {"ok": True, "info": _described(downloaded, chosen, files, out_dir), "media_key": key}


def _choose(ydl, url: str, limits: Limits, out_dir: Path) -> Chosen:
    """What to download from `url`; raises PolicyRefusal when the policy refuses it."""
    from yt_dlp.utils import determine_protocol

    info = _first_video(ydl.extract_info(url, download=False))
    parts = separate_streams(info, limits.max_height)
    apart = joined(info, parts) if parts else None
    if apart is not None and protocol_refusal(apart, determine_protocol) is None:
        info = apart
        _download_apart(ydl, info["format_id"], out_dir)
    else:
        parts = None
    if refusal := info_refusal(info, limits) or protocol_refusal(info, determine_protocol):
        raise PolicyRefusal(refusal)
    return Chosen(info, parts)


def _downloaded_files(downloaded: dict, chosen: Chosen, limits: Limits, incidents: Incidents) -> list[Path]:
    """The files yt-dlp wrote, the video part first where there are two."""
    by_format = {str(d.get("format_id")): Path(d["filepath"]) for d in downloaded.get("requested_downloads") or []
                 if d.get("filepath") and Path(d["filepath"]).is_file()}
    parts = chosen.parts
    files = [by_format[f["format_id"]] for f in parts if f["format_id"] in by_format] if parts else [
        *by_format.values()]
    if not files or (parts and len(files) != len(parts)):
        # yt-dlp skips a file over max_filesize without an error: say so rather than "no file".
        if TOO_LARGE in incidents or chosen.info.get("filesize") or chosen.info.get("filesize_approx"):
            raise PolicyRefusal(size_refusal(limits))
        raise LookupError(incidents.get(ERROR) or "no video file was downloaded")
    return files


def _described(downloaded: dict, chosen: Chosen, files: list[Path], out_dir: Path) -> dict:
    """The result's `info`: what the service keeps of the video, and the file it is in."""
    result = {key: downloaded.get(key) for key in INFO_FIELDS}
    result["filepath"] = str(files[0])
    if chosen.parts:
        from .remux import join_parts  # PyAV: only for downloads in parts

        result.update(join_parts(*files, out_dir), width=chosen.info.get("width"), height=chosen.info.get("height"))
    result["subtitles"] = subtitle_tracks(downloaded)
    return result


def subtitle_tracks(info: dict) -> list[dict]:
    """Subtitle tracks per language; where vtt or srt exists, the other formats are left out."""
    tracks = []
    for key, automatic in (("subtitles", False), ("automatic_captions", True)):
        for language, entries in (info.get(key) or {}).items():
            if language == "live_chat":
                continue
            entries = [e for e in entries or [] if e.get("url") and e.get("ext")]
            readable = [e for e in entries if e["ext"].lower() in READABLE_SUBTITLES]
            for entry in readable or entries:
                tracks.append({"language": language, "ext": entry["ext"], "url": entry["url"], "automatic": automatic})
    return tracks


def _first_video(info: dict | None) -> dict:
    if info and info.get("_type") == "playlist":
        entries = [e for e in info.get("entries") or [] if e]
        info = entries[0] if entries else None
    if info is None:
        raise LookupError("no video found at this URL")
    return info


def _download_apart(ydl, formats: str, out_dir: Path) -> None:
    """Make `ydl` download each of `formats` ("137,140") to a file of its own, named apart (a WebM video
    and a WebM audio part would otherwise collide). yt-dlp compiles its format option when created."""
    ydl.params["format"] = formats
    ydl.format_selector = ydl.build_format_selector(formats)
    ydl.params["outtmpl"] = {"default": str(out_dir / "part.f%(format_id)s.%(ext)s")}


def _event_stream() -> ProgressEvents:
    """Events go to the service on the original stdout; anything else printing there goes nowhere."""
    stream = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return ProgressEvents(stream)
