"""Routes for whoever keeps the store bounded and stops work nobody waits for: list the stored media,
delete one unless it is in use, cancel a download. The policy (what is still needed) is the caller's."""

import asyncio
from datetime import datetime

from fastapi import APIRouter, Query, Request, Response

from service_common.contracts import ErrorBody

from .api import ERRORS, not_found
from .inventory import MediaInventory, inventory
from .store import Kept, epoch_us
from .worker_client import failure

router = APIRouter()


@router.get("/media", response_model=MediaInventory)
async def list_media(request: Request) -> MediaInventory:
    """Every complete stored media, least recently used first, with the bytes of its files (video, frames,
    transcripts), its last use and whether a request is working on it now; `total_bytes` adds the media
    up, `work_bytes` counts partial downloads and other work in progress."""
    return await asyncio.to_thread(inventory, request.app.state.store)


@router.delete("/media/{media_id}", status_code=204, responses={409: {"model": ErrorBody}, **ERRORS})
async def delete_media(
    media_id: str,
    request: Request,
    unused_since: datetime | None = Query(
        None, description="delete only if not used after this time (ISO 8601; UTC when it names no zone)"
    ),
) -> Response:
    """Delete a stored media with its frames and transcripts. 409, keeping it, while a request works on
    it, or when it was used after `unused_since`: a caller that decided from an older listing loses."""
    since = epoch_us(unused_since) if unused_since is not None else None
    try:
        deleted = await asyncio.to_thread(request.app.state.store.delete, media_id, since)
    except Kept as kept:
        raise failure(str(kept), 409, kept.busy) from None
    if not deleted:
        raise not_found(media_id)
    return Response(status_code=204)


@router.delete("/downloads/{job_id}", status_code=204)
async def cancel_download(job_id: str, request: Request) -> Response:
    """Stop the download started with this job_id: its fetch process is killed, its partial files are
    removed, and its POST /downloads is answered 409 "download cancelled". 204 also when none runs.
    Another request for the same video that was waiting for this one goes on and fetches it itself."""
    await request.app.state.downloader.cancel(job_id)
    return Response(status_code=204)
