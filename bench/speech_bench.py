"""Speech to text through the real lite server's /v1/audio/transcriptions.

    python -m bench.speech_bench [--minutes 10] [--out docs/benchmarks.md]

About ten minutes of espeak-ng speech (varied English sentences) is sent as one WAV upload to a lite
server process on loopback with its default settings (packaged Whisper tiny.en, int8, SPEECH_THREADS
threads). The real-time factor is the audio's length divided by the request's wall time; peak memory
is the server process's VmHWM from /proc after the request. Word recall is the share of the distinct
words said that appear in the transcript (espeak's voice is harder than a person's). The server's
CPU time and the load average show how contended the machine was: on an idle one the wall time
nears CPU time / threads. Targets: at least 10× faster than real time, peak RSS under 1.5 GB.
"""

import argparse
import os
import subprocess
import time
from pathlib import Path

import ctranslate2
import faster_whisper
import httpx

from bench.process_figures import cpu_seconds, peak_rss_bytes
from bench.report import machine, publish
from lite_models.config import LiteSettings
from lite_models.speech import load_whisper
from tests.support.processes import free_port, run_service
from tests.support.speech import speak

CACHE = Path("var/bench")
SENTENCES = [
    "Please open the door and close the window.",
    "The children are playing football in the park.",
    "Good morning everyone, welcome to the weekly meeting.",
    "The train to the city leaves at seven in the evening.",
    "We planted tomatoes, beans and carrots in the garden.",
    "The weather today is cold and windy with some rain.",
    "Our team finished the project two weeks early.",
    "The library opens at nine and closes at five.",
    "She bought fresh bread and milk from the shop.",
    "The river flows slowly through the green valley.",
]
WORDS_PER_MINUTE = 150


def make_speech(minutes: float) -> tuple[Path, str]:
    """A WAV of the sentences repeated until about `minutes` long (150 words a minute), and its text."""
    words_per_pass = sum(len(s.split()) for s in SENTENCES)
    passes = max(1, round(minutes * WORDS_PER_MINUTE / words_per_pass))
    text = " ".join(SENTENCES * passes)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"speech-{minutes:g}min.wav"
    if not path.exists():
        speak(path, text, WORDS_PER_MINUTE)
    return path, text


def audio_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return container.duration / av.time_base


def word_recall(heard: str, said: str) -> float:
    def words(text: str) -> set[str]:
        return {w.strip(".,!?;:").lower() for w in text.split()} - {""}

    return len(words(heard) & words(said)) / len(words(said))


SECTION = "## Speech to text"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    audio, said = make_speech(args.minutes)
    seconds = audio_seconds(audio)
    started = time.perf_counter()
    load_whisper(LiteSettings())
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    with run_service("lite_models.app:create_app", free_port(), env={}) as (base, process):
        startup_s = time.perf_counter() - started
        with httpx.Client(base_url=base, timeout=3600) as http:
            cpu_before, started = cpu_seconds(process.pid), time.perf_counter()
            response = http.post("/v1/audio/transcriptions", data={"model": "lite-speech"},
                                 files={"file": (audio.name, audio.read_bytes(), "audio/wav")})
            wall_s = time.perf_counter() - started
            cpu_s = cpu_seconds(process.pid) - cpu_before
            load = os.getloadavg()[0]
            response.raise_for_status()
        rss = peak_rss_bytes(process.pid)
    rtf = seconds / wall_s
    recall = word_recall(response.json()["text"], said)
    settings = LiteSettings()
    espeak = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.split()[3]
    versions = (f"{machine()}, faster-whisper {faster_whisper.__version__}, CTranslate2 {ctranslate2.__version__}, "
                f"espeak-ng {espeak}")
    model = f"tiny.en int8, beam {settings.speech_beam_size}, {settings.speech_threads} threads"
    table = "\n".join([
        f"### {seconds / 60:.1f} min of espeak-ng speech, {model} ({versions})",
        "",
        "| figure | value |",
        "|---|---|",
        f"| audio length | {seconds:.0f} s |",
        f"| transcription request wall time | {wall_s:.1f} s |",
        f"| × faster than real time | {rtf:.1f} |",
        f"| lite server CPU time for the request | {cpu_s:.1f} s (audio s per CPU s: {seconds / cpu_s:.1f}) |",
        f"| machine load average (1 min) after the request | {load:.1f} |",
        f"| lite server peak RSS (VmHWM) | {rss / 2**20:.0f} MiB |",
        f"| word recall | {recall:.0%} |",
        f"| model load (in process) | {load_s:.2f} s |",
        f"| lite server start to healthy | {startup_s:.1f} s |",
        "",
        f"{rtf:.1f}× real time (target ≥ 10×: {'met' if rtf >= 10 else 'missed'}); peak RSS "
        f"{rss / 2**30:.2f} GB (target < 1.5 GB: {'met' if rss < 1.5 * 2**30 else 'missed'}).",
    ])
    publish(table, args.out, SECTION, "bench.speech_bench", __doc__)


if __name__ == "__main__":
    main()
