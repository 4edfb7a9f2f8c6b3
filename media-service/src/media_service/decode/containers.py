"""Opening stored media with libav so that nothing but the file's own bytes is ever read.

libav picks a demuxer by probing, and its probe listens to the file's name: a file named `.m3u8` (or
`.m3u`) that starts like a playlist is opened as HLS, whose demuxer then opens every segment it
names, `/etc/...` and `file:` paths included. So every open here
- hands libav the bytes through a file object that has no name: the demuxer is chosen from the
  bytes alone, whatever the client or the origin called the file;
- refuses every nested open (the io_open callback): no playlist, manifest, concat list, `subfile:`
  or `file:` segment can make libav open anything else;
- accepts only demuxers of self-contained media formats (READABLE_FORMATS): a concat list, an SDP
  session or a DASH manifest is refused as not a video even before anything is read from it.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av

# First name of each demuxer that reads media held in the file itself, and nothing else. libav names
# a demuxer by a list ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"); the first name selects it.
READABLE_FORMATS = frozenset({
    "mov", "matroska", "mpegts", "avi", "ogg", "gif", "apng", "flv", "mpeg", "mpegvideo", "asf", "mxf",
    "nut", "dv", "rm", "wtv", "h264", "hevc", "m4v", "mjpeg", "ivf", "obu",
    # Sound alone: read so that the refusal can say "audio only".
    "wav", "mp3", "flac", "aac",
})
# libav reads through Python in blocks of this size: larger blocks, fewer calls.
READ_BLOCK = 256 * 1024


class NotMediaFile(Exception):
    """libav cannot read the file as media of a format the service reads; the message says why."""


class _NamelessFile:
    """A read-only file object without a `name`: PyAV then gives libav no file name to guess from."""

    def __init__(self, path: Path):
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

    def read(self, size: int) -> bytes:
        return os.read(self._fd, size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return os.lseek(self._fd, offset, whence)

    def tell(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_CUR)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _refuse_nested_open(url: str, flags: int, options: dict):
    raise PermissionError("stored media may not open other files or URLs")


def format_name(container: av.container.InputContainer) -> str:
    """The demuxer's first name: what `format=` selects it by ("mov" for "mov,mp4,m4a,...")."""
    return container.format.name.split(",")[0]


@contextmanager
def open_media(path: Path | str, pinned_format: str | None = None) -> Iterator[av.container.InputContainer]:
    """The file opened for reading with libav, closed (file and all) when the block ends.

    `pinned_format` is a format_name() an earlier open of the same file chose (a second decoder of
    one video); without it libav probes the bytes. NotMediaFile when the file cannot be opened or is
    not of a readable format (also a playlist or list that wanted to open another file).
    """
    try:
        source = _NamelessFile(Path(path))
    except OSError as exc:
        raise NotMediaFile(f"cannot be opened ({exc.strerror})") from None
    try:
        try:
            container = av.open(source, format=pinned_format, metadata_errors="ignore",
                                buffer_size=READ_BLOCK, io_open=_refuse_nested_open)
        except PermissionError:
            raise NotMediaFile("points at other files or URLs instead of holding media") from None
        except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
            raise NotMediaFile("is not a media file that can be read") from None
        try:
            name = format_name(container)
            if name not in READABLE_FORMATS:
                raise NotMediaFile(f"is a {name} file, not a video")
            yield container
        finally:
            container.close()
    finally:
        source.close()
