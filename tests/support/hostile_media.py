"""Hostile media made at test time: GIFs whose few bytes make a decoder do a great deal of work.

Written byte by byte: an image library would have to hold every full-size frame (16 MB each for a
4096x4096 canvas) to write such a file, and the GIF format is simple enough to spell out.
"""

import struct
from pathlib import Path

# The LZW data of one pixel of colour 0 (minimum code size 2: clear, 0, end of information).
ONE_PIXEL = b"\x02\x02\x44\x01\x00"


def tiny_frames_gif(path: Path, width: int, height: int, frames: int, delay_cs: int = 1) -> Path:
    """A `width`x`height` canvas and `frames` frames of one pixel each, `delay_cs` hundredths of a
    second apart: a decoder gives every frame at the canvas's full size."""
    out = bytearray(b"GIF89a")
    out += struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # a global colour table of two colours
    out += b"\x00\x00\x00\xff\xff\xff"
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for index in range(frames):
        out += b"\x21\xf9\x04\x00" + struct.pack("<H", delay_cs) + b"\x00\x00"  # graphic control
        out += b"\x2c" + struct.pack("<HHHHB", index % width, index // width % height, 1, 1, 0)
        out += ONE_PIXEL
    out += b"\x3b"
    path.write_bytes(bytes(out))
    return path


def peak_rss_mb(pid: int) -> float:
    """The most memory `pid` has held at once (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmHWM for process {pid}")
