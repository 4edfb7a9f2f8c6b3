"""Routes for frames: extract a set (once per strategy, count and size), serve one of its JPEGs."""

import asyncio
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Query, Request, Response

from service_common.contracts import FramesRequest, FramesResult, FrameStrategy

from ..deps import Frames, Store
from ..errors import MediaError, media_not_found
from ..routing import ERRORS, unless_caller_leaves
from .decoding import UnreadableVideo
from .frame_sets import frame_file, frame_in_set

router = APIRouter()


@router.post("/media/{media_id}/frames", response_model=FramesResult, responses=ERRORS)
async def create_frames(
    media_id: str, body: FramesRequest, request: Request, store: Store, frame_sets: Frames
) -> FramesResult:
    try:
        with store.using(media_id):
            result = await unless_caller_leaves(request, frame_sets.frames_for(media_id, body))
    except UnreadableVideo as error:
        raise MediaError(f"frames failed: the video of {media_id} {error}") from None
    if result is None:
        raise media_not_found(media_id)
    return result


@router.get(
    "/media/{media_id}/frames/{index}.jpg", responses={200: {"content": {"image/jpeg": {}}}, **ERRORS}
)
async def get_frame(
    media_id: str,
    index: int,
    store: Store,
    strategy: FrameStrategy | None = None,
    max_frames: int | None = Query(default=None, ge=1),
    max_side: int | None = Query(default=None, ge=64),
) -> Response:
    """A frame of the set the query names; what it leaves out is taken from the latest set asked for.
    For callers that did not keep the set's id (see the route below)."""
    return await _frame(store, media_id, index, lambda: frame_file(store, media_id, index, strategy, max_frames,
                                                                    max_side))


@router.get(
    "/media/{media_id}/frame-sets/{frame_set}/{index}.jpg",
    responses={200: {"content": {"image/jpeg": {}}}, **ERRORS},
)
async def get_frame_of_set(media_id: str, frame_set: str, index: int, store: Store) -> Response:
    """A frame of the set whose id the frames call returned."""
    return await _frame(store, media_id, index, lambda: frame_in_set(store, media_id, frame_set, index))


async def _frame(store: Store, media_id: str, index: int, find: Callable[[], Path | None]) -> Response:
    # Read while counted as a use (a frame is small): a file streamed after the handler returned
    # could be deleted half-way.
    with store.using(media_id):
        path = find()
        image = await asyncio.to_thread(_read, path) if path else None
    if image is None:
        raise MediaError(f"frame {index} of media {media_id} not found", 404)
    return Response(image, media_type="image/jpeg")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
