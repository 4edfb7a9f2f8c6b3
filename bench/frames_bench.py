"""Frame extraction against the decode floor, on generated videos.

    python -m bench.frames_bench [--minutes 10] [--webm-minutes 2] [--av1-minutes 2] [--out docs/benchmarks.md]

The videos are made once and kept under var/bench/. Each of our timings is a fresh extraction
(no cache) into a temporary directory, JPEG writing included; the median of --repeats runs.
With --out, the "Frame extraction" section of that file is replaced (or added); the others stay.
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import imageio_ffmpeg

from bench.report import machine, write_section
from media_service.frames.selection import extract_frames

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
CACHE = Path("var/bench")
SIZE, FPS, GOP = "1280x720", 30, 250  # a keyframe every 8.3 s, as many encoders default to
# Encoder: (what the results call the file, file name ending, settings that encode it fast).
CODECS = {
    "libx264": ("H.264 MP4", ".mp4", ["-preset", "ultrafast"]),
    # VP9's and AV1's default settings encode at a few frames per second.
    "libvpx-vp9": ("VP9 WebM", ".webm", ["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"]),
    "libsvtav1": ("AV1 MP4", "-av1.mp4", ["-preset", "12"]),
}
# Per encoder: how many uniform frames the target is for and how many times faster than naive they
# must come, and at most how many times the keyframe floor scenes may take (None: no target there).
TARGETS = {"libx264": (8, 50, 1.5), "libvpx-vp9": (32, 10, None), "libsvtav1": (32, 10, None)}
SECTION = "## Frame extraction"

# Visually different segments, as shares of the running time: moving patterns, still test cards,
# and long static "slides" (the second slide shown again at the end), so that scenes matter.
SLIDE_A = "color=c=0x1e3a8a:size={size}:rate={fps},drawbox=x=100:y=80:w=1080:h=120:color=white:t=fill"
SLIDE_B = "color=c=white:size={size}:rate={fps},drawbox=x=160:y=200:w=400:h=300:color=0x303030:t=fill"
SEGMENTS = [
    ("testsrc2=size={size}:rate={fps}", 0.10),
    ("smptebars=size={size}:rate={fps}", 0.08),
    (SLIDE_A, 0.30),
    ("mandelbrot=size=160x90:rate={fps},scale={w}:{h}", 0.04),
    ("testsrc=size={size}:rate={fps}", 0.10),
    (SLIDE_B, 0.15),
    ("smptehdbars=size={size}:rate={fps}", 0.06),
    ("yuvtestsrc=size={size}:rate={fps}", 0.05),
    (SLIDE_A, 0.12),
]


def make_bench_video(path: Path, minutes: float, codec: str) -> Path:
    if path.is_file():
        return path
    width, height = SIZE.split("x")
    args = [FFMPEG, "-y", "-loglevel", "error"]
    for source, share in SEGMENTS:
        graph = source.format(size=SIZE, fps=FPS, w=width, h=height)
        args += ["-f", "lavfi", "-t", f"{minutes * 60 * share:.3f}", "-i", f"{graph},format=yuv420p,setsar=1"]
    inputs = "".join(f"[{i}:v]" for i in range(len(SEGMENTS)))
    args += ["-filter_complex", f"{inputs}concat=n={len(SEGMENTS)}:v=1:a=0[v]", "-map", "[v]"]
    args += ["-c:v", codec, "-g", str(GOP), "-pix_fmt", "yuv420p", *CODECS[codec][2]]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}")
    # SVT-AV1 prints its settings unless told to log errors only.
    subprocess.run([*args, str(partial)], check=True, env={**os.environ, "SVT_LOG": "1"})
    partial.replace(path)
    return path


def naive_opencv(path: Path) -> int:
    """What a first version does: read every frame and keep the ones it wants."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    return count


def keyframe_floor(path: Path) -> int:
    """Decoding every keyframe of the file and nothing else: no scene detection can do less."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def keyframe_packets(path: Path) -> int:
    """The same keyframes, with the other packets dropped before the decoder (what scenes does)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        stream.thread_type = "AUTO"
        frames = 0
        for packet in container.demux(stream):
            if packet.is_keyframe or not packet.size:
                frames += len(stream.codec_context.decode(packet))
        return frames


def timed(work: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def ours(path: Path, strategy: str, count: int):
    with tempfile.TemporaryDirectory() as out:
        return extract_frames(path, strategy, count, 1120, Path(out))


def bench_file(path: Path, repeats: int) -> tuple[list[list[str]], dict[str, float]]:
    naive, frames = timed(lambda: naive_opencv(path), 1)
    floor, keyframes = timed(lambda: keyframe_floor(path), repeats)
    rows = [
        ["naive OpenCV decode of every frame", f"{naive:.2f}", "1", f"{floor / naive:.3f}", f"{frames} frames"],
        ["PyAV keyframes only, whole file (floor)", f"{floor:.2f}", f"{naive / floor:.0f}", "1.00",
         f"{keyframes} keyframes"],
    ]
    packets, _ = timed(lambda: keyframe_packets(path), repeats)
    rows.append(["PyAV keyframe packets only to the decoder", f"{packets:.2f}", f"{naive / packets:.0f}",
                 f"{packets / floor:.2f}", "how scenes reads the file"])
    figures = {"naive": naive, "floor": floor}
    for strategy in ("uniform", "scenes"):
        for count in (8, 32):
            seconds, result = timed(lambda s=strategy, c=count: ours(path, s, c), repeats)
            figures[f"{strategy}-{count}"] = seconds
            detail = f"{len(result.frames)} frames" + (f"; {result.note}" if result.note else "")
            rows.append([f"ours: {strategy}, max_frames {count}", f"{seconds:.3f}", f"{naive / seconds:.0f}",
                         f"{seconds / floor:.2f}", detail])
    return rows, figures


def table(rows: list[list[str]]) -> str:
    head = ["method", "seconds", "× faster than naive", "× keyframe floor", "result"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def verdict(figures: dict[str, float], codec: str) -> str:
    count, faster, at_most = TARGETS[codec]
    uniform = {n: figures["naive"] / figures[f"uniform-{n}"] for n in (8, 32)}
    scenes = max(figures["scenes-8"], figures["scenes-32"]) / figures["floor"]
    text = (f"uniform: 8 frames {uniform[8]:.0f}×, 32 frames {uniform[32]:.0f}× faster than naive (target for "
            f"{count} frames ≥ {faster}×: {'met' if uniform[count] >= faster else 'missed'}); scenes: "
            f"{scenes:.2f}× the keyframe floor at worst")
    if at_most is not None:
        text += f" (target ≤ {at_most}×: {'met' if scenes <= at_most else 'missed'})"
    return text


METHOD = """{section} (`python -m bench.frames_bench --out docs/benchmarks.md`)

What it measures: how long the media service takes to produce the frames of one request, against
two references on the same file. The videos are generated by the benchmark (and kept under
`var/bench/`): {videos_note}, made of visually different segments (testsrc2, SMPTE bars,
a still "slide" for 30% of the running time, a Mandelbrot zoom, testsrc, a second slide, HD bars,
a YUV test card, and the first slide again), encoded with x264 `-preset ultrafast -g 250` (a
keyframe every 8.3 s, none added at cuts), VP9 in real-time mode and SVT-AV1 at preset 12 with the
same keyframe interval.

- **naive**: OpenCV `VideoCapture.grab()` over every frame, the way a first version reads a video.
- **floor**: PyAV decoding of every keyframe of the file with `skip_frame="NONKEY"` and nothing
  else; no scene detection that looks at the whole file can read less.
- **ours**: `media_service.frames.selection.extract_frames` as the service runs it: a fresh extraction
  (no cache) into a temporary directory, JPEGs of at most 1120 px written; median of {repeats} runs.
  Uniform shows each of its evenly spaced moments (the centres of `max_frames` equal slices) by the
  nearest keyframe, before or after it, within reach of it (half a slice, or a twentieth of the
  video up to 5 s if that is more) that no other moment took: a seek to the keyframe before it, its
  packets read on to the next keyframe (within reach) without decoding any, then the chosen
  keyframe's packet alone decoded. A moment with no keyframe within reach is decoded exactly; one
  whose keyframes within reach are all taken gets no frame, and the result's note says why. Scenes
  decodes every keyframe, computes a 64x36 signature of each, and keeps the chosen ones.
- Ours can be faster than the floor: it hands only keyframe packets to the decoder, where the
  floor hands it every packet and lets it skip the others (the extra row shows this alone).
  FFmpeg's VP9 decoder ignores `skip_frame`, so on the WebM the "floor" decodes every frame.
- On the 2-min files, 32 uniform moments are 3.75 s apart and keyframes 8.3 s: each keyframe
  shows one moment (15 frames, each within 5 s of its moment), as more would mean decoding most of
  the video. On the 10-min file the same 32 moments each have a keyframe of their own.

Targets: uniform with 8 frames at least 50x faster than naive on the 10-min H.264 file, and with
32 frames at least 10x on the 2-min VP9 and AV1 files (their naive decode takes only seconds);
scenes at most 1.5x the floor on the 10-min file. On the 2-min files the floor is no measure: the
VP9 one decodes every frame, the AV1 one 15 keyframes in about the time 8 JPEGs take to write.
Timings vary by a few tens of percent with the load of the machine; they are not asserted by any
test.

Machine: {machine}.

{results}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--webm-minutes", type=float, default=2.0, help="VP9 encodes slowly; 0 skips it")
    parser.add_argument("--av1-minutes", type=float, default=2.0, help="AV1 encodes slowly; 0 skips it")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="write the method and figures here (markdown)")
    args = parser.parse_args()

    lengths = {"libx264": args.minutes, "libvpx-vp9": args.webm_minutes, "libsvtav1": args.av1_minutes}
    sections, notes = [], []
    for codec, minutes in lengths.items():
        if minutes <= 0:
            continue
        name, ending = CODECS[codec][:2]
        video = make_bench_video(CACHE / f"bench-{minutes:g}min{ending}", minutes, codec)
        rows, figures = bench_file(video, args.repeats)
        section = f"### {minutes:g} min {SIZE} {FPS} fps {name}, keyframe every {GOP} frames\n\n"
        section += table(rows) + "\n\n" + verdict(figures, codec) + "\n"
        print(section)
        sections.append(section)
        notes.append(f"a {minutes:g}-min {SIZE} {FPS} fps {name}")
    if args.out:
        versions = f"{machine()}, PyAV {av.__version__}, OpenCV {cv2.__version__}"
        videos_note = ", ".join(notes[:-1]) + f" and {notes[-1]}" if len(notes) > 1 else notes[0]
        write_section(args.out, SECTION, METHOD.format(section=SECTION, videos_note=videos_note,
                                                       repeats=args.repeats, machine=versions,
                                                       results="\n".join(sections)))


if __name__ == "__main__":
    main()
