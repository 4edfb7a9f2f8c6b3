"""Additive endpoints: uploading a video file, and the images of a task's analysed frames."""

from fastapi import APIRouter, HTTPException, Request, Response

from ..clients.media import UploadRefused
from ..deps import Media, Orchestrator, Settings
from ..schemas import ErrorResponse, UploadResponse
from ..task_ids import parse_task_id

router = APIRouter(tags=["media"])


class UploadTooLarge(Exception):
    pass


@router.get(
    "/tasks/{task_id}/frames/{index}.jpg",
    response_class=Response,
    summary="Image of one analysed frame",
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"model": ErrorResponse}},
)
async def frame_image(task_id: str, index: int, orchestrator: Orchestrator) -> Response:
    jpeg = await orchestrator.frame_image(parse_task_id(task_id), index)
    if jpeg is None:
        raise HTTPException(404, f"Task {task_id} has no frame {index}")
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.post(
    "/uploads",
    response_model=UploadResponse,
    summary="Upload a video file to analyse",
    responses={413: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
               503: {"model": ErrorResponse, "description": "The media service is unavailable; see Retry-After"}},
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary", "description": "the video file"}}}}}}},
)
async def upload(request: Request, settings: Settings, media: Media) -> UploadResponse:
    """Send the file as multipart/form-data in a field named `file`; pass the returned `url` as
    `youtube_url` to `POST /analyze`. Example: `curl -F file=@talk.mp4 http://localhost:8000/uploads`."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise HTTPException(422, "send the video as multipart/form-data with a field named 'file'")
    limit = settings.max_upload_mb * 2**20
    too_large = f"the upload is larger than {settings.max_upload_mb} MB (MAX_UPLOAD_MB)"
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 2**16:
        raise HTTPException(413, too_large)

    async def body():
        # Streamed through, never held whole; counted so a body without Content-Length is capped too.
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + 2**16:  # room for the multipart framing around the file
                raise UploadTooLarge
            yield chunk

    try:
        return await media.upload(body(), content_type, settings.upload_timeout_s)
    except UploadTooLarge:
        raise HTTPException(413, too_large) from None
    except UploadRefused as exc:
        raise HTTPException(exc.status, exc.detail) from None
