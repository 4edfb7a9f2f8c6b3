"""Additive endpoints: a task's transcript as subtitle files (SubRip, WebVTT) and its results as a Markdown
report, made by gateway.exports from the task as `GET /tasks/{task_id}` gives it.

Scoped to the caller's key like the task itself (another key's task is not found). Each answer carries an
ETag, a hash of its bytes, and `Cache-Control: private, no-cache`: a client (or browser) may keep it, but
asks again each time, and `If-None-Match` with the ETag it has is answered 304 without a body.
"""

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response
from pydantic import ValidationError

from service_common.contracts import TaskRecord, TaskStatus
from service_common.errors import PermanentError

from .. import exports
from ..clients.orchestrator import OrchestratorClient
from ..deps import Orchestrator
from ..schemas import ErrorResponse
from .tasks import NOT_FOUND, UNAVAILABLE, task_json

router = APIRouter(tags=["exports"])

SRT_TYPE = "application/x-subrip; charset=utf-8"
VTT_TYPE = "text/vtt; charset=utf-8"
MARKDOWN_TYPE = "text/markdown; charset=utf-8"
CACHE_CONTROL = "private, no-cache"

IfNoneMatch = Annotated[str | None, Header(
    alias="If-None-Match",
    description="The ETag of a copy you have: when it is still current the answer is 304, without a body")]


def _documented(media_type: str, what: str, extra: dict | None = None) -> dict:
    """The OpenAPI responses of one export."""
    return {
        200: {
            "description": what,
            "content": {media_type.split(";")[0]: {"schema": {"type": "string"}}},
            "headers": {
                "ETag": {"description": "A hash of the body; send it back as If-None-Match",
                         "schema": {"type": "string"}},
                "Content-Disposition": {"description": "attachment, with a file name made from the video's title",
                                        "schema": {"type": "string"}},
            },
        },
        304: {"description": "Not modified: the ETag given in If-None-Match is still current"},
        **(extra or {}),
        **UNAVAILABLE,
    }


NO_TRANSCRIPT = {404: {"model": ErrorResponse,
                       "description": "No such task, or it has no transcript (yet: the detail gives its status)"}}
NOT_COMPLETED = {409: {"model": ErrorResponse,
                       "description": "The task is not completed (still running, or failed): no report yet"}}


async def read_task(orchestrator: OrchestratorClient, task_id: str) -> TaskRecord:
    """The caller's task, as GET /tasks/{task_id} gives it; 404 when the caller has no such task."""
    body = await task_json(orchestrator, task_id)
    try:
        return TaskRecord.model_validate_json(body)
    except ValidationError as exc:
        raise PermanentError(f"orchestrator sent a malformed TaskRecord ({exc.error_count()} errors)") from exc


def file_answer(text: str, media_type: str, disposition: str, if_none_match: str | None) -> Response:
    body = text.encode("utf-8")
    tag = exports.etag(body)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    if exports.etag_matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    headers |= {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"}
    return Response(body, media_type=media_type, headers=headers)


def _segments(task: TaskRecord, task_id: str):
    if task.transcript_segments:
        return task.transcript_segments
    if task.status is TaskStatus.COMPLETED:
        raise HTTPException(404, f"Task {task_id} has no transcript (its notes say why)")
    if task.status is TaskStatus.FAILED:
        raise HTTPException(404, f"Task {task_id} has no transcript (status: failed)")
    raise HTTPException(404, f"Task {task_id} has no transcript yet (status: {task.status})")


def _filename_title(task: TaskRecord) -> str | None:
    return task.video_info.title if task.video_info else None


@router.get(
    "/tasks/{task_id}/transcript.srt",
    response_class=Response,
    summary="The transcript as SubRip subtitles (.srt)",
    responses=_documented(SRT_TYPE, "The transcript's timed segments as numbered SubRip cues", NO_TRANSCRIPT),
)
async def transcript_srt(task_id: str, orchestrator: Orchestrator, if_none_match: IfNoneMatch = None) -> Response:
    """Ready as soon as the task has its transcript (from the `extracting_transcript` stage on), before the
    analysis is completed. Each segment is one cue: blank lines and `-->` in its text are normalised away,
    empty segments dropped, and a segment whose end is not after its start shown until the next starts
    (at most 2 s)."""
    task = await read_task(orchestrator, task_id)
    text = exports.to_srt(_segments(task, task_id))
    disposition = exports.content_disposition(_filename_title(task), task.task_id, "srt")
    return file_answer(text, SRT_TYPE, disposition, if_none_match)


@router.get(
    "/tasks/{task_id}/transcript.vtt",
    response_class=Response,
    summary="The transcript as WebVTT subtitles (.vtt)",
    responses=_documented(VTT_TYPE, "The transcript's timed segments as WebVTT cues", NO_TRANSCRIPT),
)
async def transcript_vtt(task_id: str, orchestrator: Orchestrator, if_none_match: IfNoneMatch = None) -> Response:
    """As the .srt, in WebVTT, which browsers' `<track>` elements read: `&`, `<` and `>` in the text are
    written as character references."""
    task = await read_task(orchestrator, task_id)
    text = exports.to_vtt(_segments(task, task_id))
    disposition = exports.content_disposition(_filename_title(task), task.task_id, "vtt")
    return file_answer(text, VTT_TYPE, disposition, if_none_match)


@router.get(
    "/tasks/{task_id}/report.md",
    response_class=Response,
    summary="The results as a Markdown report",
    responses=_documented(MARKDOWN_TYPE, "The report", {**NOT_FOUND, **NOT_COMPLETED}),
)
async def report_markdown(
    task_id: str, request: Request, orchestrator: Orchestrator, if_none_match: IfNoneMatch = None,
) -> Response:
    """Title, source URL, duration, summary, key points, chapters with their times, each frame with its
    time, description and image link, the transcript with its times, and the notes. Text from the video
    or the models is escaped, so a Markdown renderer shows it as written (no links, HTML or headings of
    its own). Frame images are linked at this API's address (they need the same key as the task). Only
    a completed task has a report: a running or failed one is answered 409."""
    task = await read_task(orchestrator, task_id)
    if task.status is TaskStatus.FAILED:
        raise HTTPException(409, f"Task {task_id} failed, so it has no report (its error says why)")
    if task.status is not TaskStatus.COMPLETED:
        raise HTTPException(409, f"Task {task_id} is not completed yet (status: {task.status}); "
                                 "its report is ready once it is")
    text = exports.to_markdown(task, base_url=str(request.base_url))
    disposition = exports.content_disposition(_filename_title(task), task.task_id, "md")
    return file_answer(text, MARKDOWN_TYPE, disposition, if_none_match)
