"""How the fetch process sets up yt-dlp: nothing on stdout, no plugins, config files, external
downloaders or ffmpeg (their connections would escape the connection guard), the size limit enforced
as bytes arrive, and progress sent to the service."""

import os
from pathlib import Path

from .incidents import ERROR, TOO_LARGE, Incidents
from .policy import Limits, PolicyRefusal, format_selector, size_refusal
from .progress import ProgressEvents

# A path that cannot exist (/dev/null is no directory): yt-dlp then finds no ffmpeg, wherever one is.
NO_FFMPEG = os.path.join(os.devnull, "ffmpeg")


class QuietLogger:
    """yt-dlp logger: keep nothing on stdout; errors come back through exceptions."""

    def __init__(self, incidents: Incidents):
        self.incidents = incidents

    def debug(self, msg: str) -> None:
        # The one sign that yt-dlp skipped a file over max_filesize (it is no error to yt-dlp).
        if "larger than max-filesize" in msg:
            self.incidents.record(TOO_LARGE, msg)

    info = warning = debug

    def error(self, msg: str) -> None:
        self.incidents.record(ERROR, msg)


def without_plugins_or_programs() -> None:
    """yt-dlp imports plugins from config folders and sys.path; none are wanted, so none are loaded
    (the API's equivalent of --no-plugin-dirs). Config files are read only by yt-dlp's command line.

    Nor may it find an ffmpeg on PATH: it hands streams it cannot download itself (AES-128 HLS without
    pycryptodomex, some playlist features) to ffmpeg, whose connections the guard never sees. Its check
    for one reads this setting, not the options (which `ffmpeg_location` in them covers)."""
    from yt_dlp.globals import plugin_dirs
    from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

    plugin_dirs.value = []
    FFmpegPostProcessor._ffmpeg_location.set(NO_FFMPEG)


def fetch_options(job: dict, incidents: Incidents) -> dict:
    """Options for any use of yt-dlp's networking in the fetch process."""
    return {
        "quiet": True,
        "no_warnings": True,
        "logger": QuietLogger(incidents),
        "usenetrc": False,
        "cookiefile": None,
        "cachedir": False,
        "ffmpeg_location": NO_FFMPEG,
        "socket_timeout": float(job.get("socket_timeout", 30)),
        "proxy": job.get("proxy") or None,
    }


def _progress_hook(limits: Limits, incidents: Incidents, events: ProgressEvents | None):
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
            incidents.record(TOO_LARGE, size_refusal(limits))
            raise PolicyRefusal(size_refusal(limits))
        if events is not None:
            finished = progress.get("status") == "finished"
            events.downloading(downloaded, int(total) if total else None, force=finished)

    return on_progress


def download_options(job: dict, incidents: Incidents, events: ProgressEvents | None = None) -> dict:
    """Options for extracting and downloading the video of `job`, within its limits."""
    limits = Limits.from_job(job)
    return {
        **fetch_options(job, incidents),
        "format": format_selector(limits.max_height),
        "outtmpl": {"default": str(Path(job["out_dir"]) / "video.%(ext)s")},
        "paths": {"home": job["out_dir"], "temp": job["out_dir"]},
        "noplaylist": True,
        "playlist_items": "1",
        "noprogress": True,
        "color": {"stdout": "no_color", "stderr": "no_color"},
        "restrictfilenames": True,
        # Every protocol in Python: an external downloader's connections escape the guard.
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
        # A fragment that failed (a refused destination among them) fails the download, not a gap in it.
        "skip_unavailable_fragments": False,
        "max_filesize": limits.max_bytes,
        "retries": 2,
        "fragment_retries": 2,
        "extractor_retries": 1,
        "concurrent_fragment_downloads": 1,
        "progress_hooks": [_progress_hook(limits, incidents, events)],
        "postprocessors": [],
        "updatetime": False,
    }
