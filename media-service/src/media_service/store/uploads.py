"""POST /uploads: a video sent as multipart/form-data (field `file`) becomes a stored media entry.

The body is parsed as it streams in and the file part written to disk chunk by chunk, so neither
a large file nor one over MAX_UPLOAD_MB is ever held in memory; the cap stops the transfer as soon
as it is passed. The upload id is the media id: `upload://<id>` then downloads at once.
"""

import asyncio
import re
import uuid
from pathlib import Path, PurePosixPath

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from service_common.contracts import UPLOAD_SCHEME, DownloadResult, UploadResult, VideoInfo

from ..config import MediaSettings
from ..decode.decoder import Decoder
from ..decode.probe import MediaFacts, UnreadableMedia
from ..errors import MediaError
from ..fetch.policy import Limits, stored_video_refusal
from .media_store import STORED_VIDEO, MediaStore

FIELD = b"file"
# Set by the gateway: the API key name ("" without keys) the upload belongs to; only it may analyse it.
OWNER_HEADER = "x-upload-owner"
# Multipart boundaries and part headers around the file: a Content-Length above cap + this is refused unread.
MULTIPART_OVERHEAD = 64 * 1024
MAX_FILENAME = 200
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TooLarge(Exception):
    pass


class FilePart:
    """Multipart parser callbacks: the first part named `file` is written to `dest`."""

    def __init__(self, dest: Path, max_bytes: int):
        self.dest = dest
        self.max_bytes = max_bytes
        self.size = 0
        self.filename: str | None = None
        self.found = False
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._out = None

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._add("_field", data[start:end]),
            "on_header_value": lambda data, start, end: self._add("_value", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._part_end,
        }

    def _add(self, name: str, data: bytes) -> None:
        setattr(self, name, getattr(self, name) + data)

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition"))
        if options.get(b"name") == FIELD and not self.found:
            self.filename = clean_filename(options.get(b"filename", b"").decode("utf-8", errors="replace"))
            self._out = self.dest.open("wb")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._out is None:
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise TooLarge()
        self._out.write(data[start:end])

    def _part_end(self) -> None:
        if self._out is not None:
            self.close()
            self.found = True

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


def clean_filename(name: str) -> str | None:
    """The base name a client sent, without directories or control characters."""
    name = CONTROL.sub("", PurePosixPath(name.replace("\\", "/")).name).strip()
    return name[:MAX_FILENAME] or None


def _invalid(detail: str) -> MediaError:
    return MediaError(f"upload failed: {detail}")


async def receive_upload(
    request: Request, settings: MediaSettings, store: MediaStore, decoder: Decoder
) -> UploadResult:
    max_bytes = settings.max_upload_mb * 2**20
    too_large = MediaError(f"upload failed: the file is larger than MAX_UPLOAD_MB ({settings.max_upload_mb} MB)", 413)
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise _invalid("send the video as multipart/form-data in a field named 'file'")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes + MULTIPART_OVERHEAD:
        raise too_large
    with store.scratch_dir() as work:
        media_dir = work / "media"
        media_dir.mkdir()
        part = FilePart(work / "upload", max_bytes)
        await _receive(request, MultipartParser(options[b"boundary"], part.callbacks()), part, too_large)
        facts = await _probed(part, decoder)
        owner = request.headers.get(OWNER_HEADER, "")
        return await asyncio.to_thread(_store_upload, part, facts, settings, store, media_dir, owner)


async def _receive(request: Request, parser: MultipartParser, part: FilePart, too_large: MediaError) -> None:
    """Stream the body through the parser, which writes the file part to disk as it comes."""
    try:
        async for chunk in request.stream():
            await asyncio.to_thread(parser.write, chunk)
        parser.finalize()
    except TooLarge:
        raise too_large from None
    except MultipartParseError as exc:
        raise _invalid(f"the multipart body is malformed ({exc})") from None
    except ClientDisconnect:
        raise MediaError("upload failed: the client went away before the file arrived", 499, True) from None
    finally:
        part.close()
    if not part.found:
        raise _invalid("the request has no field named 'file'")


async def _probed(part: FilePart, decoder: Decoder) -> MediaFacts:
    """What the file holds, read in a decode process: an upload may be hostile."""
    shown = part.filename or "the file"
    if part.size == 0:
        raise _invalid(f"{shown} is empty")
    try:
        return await decoder.probe(part.dest, "probing the upload")
    except UnreadableMedia:
        raise _invalid(f"{shown} is not a readable video") from None


def _store_upload(
    part: FilePart, facts: MediaFacts, settings: MediaSettings, store: MediaStore, media_dir: Path, owner: str
) -> UploadResult:
    shown = part.filename or "the file"
    if refusal := stored_video_refusal(facts.has_video, facts.duration, Limits.from_settings(settings), shown):
        raise _invalid(refusal)
    video = part.dest.rename(media_dir / STORED_VIDEO)
    upload_id = uuid.uuid4().hex  # also its media id: MEDIA_ID's 32 hex digits
    title = PurePosixPath(part.filename).stem if part.filename else None
    result = DownloadResult(
        media_id=upload_id,
        video_info=VideoInfo(title=title or None, duration=facts.duration, channel=None),
        webpage_url=None,
        extractor="upload",
        filesize=part.size,
    )
    url = f"{UPLOAD_SCHEME}{upload_id}"
    record = {"result": result.model_dump(mode="json"), "video_file": video.name, "url": url,
              "filename": part.filename, "owner": owner}
    store.commit(upload_id, media_dir, record)
    return UploadResult(upload_id=upload_id, url=url, filename=part.filename, size_bytes=part.size)
