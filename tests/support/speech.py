"""Spoken test media made at test time: espeak-ng speech (a system package, see the Makefile's
system-tools) and the ffmpeg that imageio-ffmpeg ships."""

import shutil
import subprocess
from pathlib import Path

from tests.support.videos import FFMPEG

SAMPLE_RATE = 16000


def _espeak() -> str:
    found = shutil.which("espeak-ng")
    if not found:
        raise RuntimeError("espeak-ng is missing: run `make system-tools` (or apt-get install espeak-ng)")
    return found


def speak(path: Path, text: str, words_per_minute: int = 130) -> Path:
    """`text` spoken by espeak-ng, as a WAV file."""
    subprocess.run([_espeak(), "-s", str(words_per_minute), "-w", str(path), text], check=True, timeout=120)
    return path


def silence(path: Path, seconds: float) -> Path:
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"anullsrc=r={SAMPLE_RATE}:cl=mono", "-t", str(seconds), str(path)], check=True, timeout=60)
    return path


def tone(path: Path, seconds: float, frequency: int = 440) -> Path:
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"sine=frequency={frequency}:sample_rate={SAMPLE_RATE}", "-t", str(seconds), str(path)],
                   check=True, timeout=60)
    return path


def spoken_timeline(path: Path, parts: list[tuple[float, str]]) -> Path:
    """A 16 kHz mono WAV with each (start second, text) spoken from its start second on, silence between."""
    workdir = path.parent
    inputs, filters = [], []
    for index, (start, text) in enumerate(parts):
        inputs += ["-i", str(speak(workdir / f"{path.stem}-part{index}.wav", text))]
        filters.append(f"[{index}:a]aresample={SAMPLE_RATE},adelay={round(start * 1000)}:all=1[p{index}]")
    mix = "".join(f"[p{i}]" for i in range(len(parts)))
    graph = ";".join(filters) + f";{mix}amix=inputs={len(parts)}:normalize=0,aformat=channel_layouts=mono[out]"
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", *inputs, "-filter_complex", graph, "-map", "[out]",
                    "-ar", str(SAMPLE_RATE), str(path)], check=True, timeout=300)
    return path


def spoken_video(path: Path, text: str, size: str = "640x360") -> Path:
    """A video (test pattern picture, AAC speech) as long as `text` takes to say; the container follows
    the suffix (.mp4, .mkv)."""
    voice = speak(path.with_suffix(".voice.wav"), text)
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
                    "-i", str(voice), "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", str(path)], check=True, timeout=300)
    return path
