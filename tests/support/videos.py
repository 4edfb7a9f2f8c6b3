"""Test videos made at test time with the ffmpeg that imageio-ffmpeg ships (no binaries in the repo)."""

import subprocess
from pathlib import Path

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

# Spoken lines of the generated videos' subtitles; tests look for them in transcripts.
DEFAULT_CUES: tuple[tuple[float, float, str], ...] = (
    (0.5, 2.5, "Welcome to the colour bar demonstration video."),
    (3.0, 5.5, "The red square moves slowly across the screen."),
    (6.0, 8.5, "Thank you for watching this short test recording."),
)


def make_video(
    path: Path,
    seconds: float = 10.0,
    size: str = "640x360",
    fps: int = 25,
    codec: str = "libx264",
    gop: int | None = None,
    with_audio: bool = False,
) -> Path:
    """A synthetic clip (moving test pattern, and a tone when `with_audio`). The container follows the
    suffix: .mp4, .webm, .mkv."""
    args = [FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}"]
    if with_audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000"]
        args += ["-c:a", "libopus" if str(path).endswith(".webm") else "aac"]
    args += ["-t", str(seconds), "-c:v", codec, "-pix_fmt", "yuv420p"]
    if gop:
        args += ["-g", str(gop)]
    if codec == "libx264":
        args += ["-preset", "ultrafast"]
    subprocess.run([*args, str(path)], check=True, timeout=120)
    return path


def _stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def write_vtt(path: Path, cues=DEFAULT_CUES) -> Path:
    lines = ["WEBVTT", ""]
    for start, end, text in cues:
        lines += [f"{_stamp(start)} --> {_stamp(end)}", text, ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_video_page(path: Path, video_name: str, title: str, vtt_name: str | None = None) -> Path:
    """An HTML page with a <video> element (and a subtitle <track>), the way many sites embed media."""
    track = f'<track kind="subtitles" src="{vtt_name}" srclang="en" label="English">' if vtt_name else ""
    path.write_text(
        f"<!doctype html><html><head><title>{title}</title>"
        f'<meta property="og:title" content="{title}"></head><body>'
        f'<video controls><source src="{video_name}" type="video/mp4">{track}</video>'
        "</body></html>",
        encoding="utf-8",
    )
    return path


def write_video_site(root: Path, title: str = "Colour bars demo", seconds: float = 10.0) -> str:
    """A small 'video site' in `root`: watch.html embeds clip.mp4 with English subtitles (DEFAULT_CUES).
    Returns the page's path relative to the site's base URL."""
    make_video(root / "clip.mp4", seconds=seconds)
    write_vtt(root / "clip.en.vtt")
    write_video_page(root / "watch.html", "clip.mp4", title, vtt_name="clip.en.vtt")
    return "watch.html"
