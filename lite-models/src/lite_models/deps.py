"""Request-scoped access to what the app factory built, so tests can build apps with other settings.

Each is `async def` although none awaits: FastAPI runs a plain `def` dependency in its thread pool.
"""

from typing import Annotated

from fastapi import Depends, Request

from .completions import CompletionEngine
from .speech import SpeechEngine


async def get_engine(request: Request) -> CompletionEngine:
    return request.app.state.engine


async def get_speech(request: Request) -> SpeechEngine:
    return request.app.state.speech


async def get_started_at(request: Request) -> int:
    """When this server started (Unix seconds): the `created` time of every model it serves."""
    return request.app.state.started_at


Engine = Annotated[CompletionEngine, Depends(get_engine)]
Speech = Annotated[SpeechEngine, Depends(get_speech)]
StartedAt = Annotated[int, Depends(get_started_at)]
