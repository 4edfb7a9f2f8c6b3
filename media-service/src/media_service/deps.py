"""Request-scoped access to what the app factory built, so tests can build apps with other settings.

Each is `async def` although none awaits: FastAPI runs a plain `def` dependency in its thread pool, and
handing every request to a thread and back costs more than the lookup itself.
"""

from typing import Annotated

from fastapi import Depends, Request

from .config import MediaSettings
from .decode.decoder import Decoder
from .fetch.downloader import Downloader
from .frames.frame_sets import FrameSets
from .store.media_store import MediaStore


async def get_settings(request: Request) -> MediaSettings:
    return request.app.state.settings


async def get_store(request: Request) -> MediaStore:
    return request.app.state.store


async def get_decoder(request: Request) -> Decoder:
    """Runs decodes in bounded child processes, a few at a time."""
    return request.app.state.decoder


async def get_downloader(request: Request) -> Downloader:
    return request.app.state.downloader


async def get_frame_sets(request: Request) -> FrameSets:
    return request.app.state.frame_sets


Settings = Annotated[MediaSettings, Depends(get_settings)]
Store = Annotated[MediaStore, Depends(get_store)]
Decoding = Annotated[Decoder, Depends(get_decoder)]
Downloads = Annotated[Downloader, Depends(get_downloader)]
Frames = Annotated[FrameSets, Depends(get_frame_sets)]
