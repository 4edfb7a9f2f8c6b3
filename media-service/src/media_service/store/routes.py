"""Routes for what the store holds: uploads that become stored media, and, for whoever keeps the store
bounded, the list of stored media and their deletion unless in use. The policy (what is still needed)
is the caller's."""

import asyncio
from datetime import datetime

from fastapi import APIRouter, Query, Request, Response

from service_common.contracts import ErrorBody, UploadResult

from ..deps import Decoding, Settings, Store
from ..errors import MediaError, media_not_found
from ..routing import ERRORS
from .inventory import MediaInventory, inventory
from .media_store import Kept, epoch_us
from .uploads import receive_upload

router = APIRouter()

# A multipart body read as a stream (see uploads.py), described here for /docs.
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/uploads",
    response_model=UploadResult,
    responses={413: {"model": ErrorBody}, **ERRORS},
    openapi_extra=UPLOAD_BODY,
)
async def create_upload(request: Request, settings: Settings, store: Store, decoder: Decoding) -> UploadResult:
    return await receive_upload(request, settings, store, decoder)


@router.get("/media", response_model=MediaInventory)
async def list_media(store: Store) -> MediaInventory:
    """Every complete stored media, least recently used first, with the bytes of its files (video, frames,
    transcripts), its last use and whether a request is working on it now; `total_bytes` adds the media
    up, `work_bytes` counts partial downloads and other work in progress."""
    return await asyncio.to_thread(inventory, store)


@router.delete("/media/{media_id}", status_code=204, responses={409: {"model": ErrorBody}, **ERRORS})
async def delete_media(
    media_id: str,
    store: Store,
    unused_since: datetime | None = Query(
        None, description="delete only if not used after this time (ISO 8601; UTC when it names no zone)"
    ),
) -> Response:
    """Delete a stored media with its frames and transcripts. 409, keeping it, while a request works on
    it, or when it was used after `unused_since`: a caller that decided from an older listing loses."""
    since = epoch_us(unused_since) if unused_since is not None else None
    try:
        deleted = await asyncio.to_thread(store.delete, media_id, since)
    except Kept as kept:
        raise MediaError(str(kept), 409, kept.busy) from None
    if not deleted:
        raise media_not_found(media_id)
    return Response(status_code=204)
