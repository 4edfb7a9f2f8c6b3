"""Request-scoped access to what the app factory built, so tests can build apps with other settings.

Each is `async def` although none awaits: FastAPI runs a plain `def` dependency in its thread pool, and
handing every request to a thread and back costs more than the rest of a task read.
"""

from typing import Annotated

from fastapi import Depends, Request

from .clients.media import MediaClient
from .clients.models import ModelsClient
from .clients.orchestrator import OrchestratorClient
from .config import GatewaySettings
from .live_progress import TaskFeeds
from .security import ApiKeys, Caller


async def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


async def get_api_keys(request: Request) -> ApiKeys:
    return request.app.state.api_keys


async def get_orchestrator(request: Request, owner: Caller) -> OrchestratorClient:
    """The task service, on behalf of the authenticated caller."""
    return OrchestratorClient(request.app.state.http, owner)


async def get_service_orchestrator(request: Request) -> OrchestratorClient:
    """The task service for calls that concern no one's tasks (health, deployments): no key needed."""
    return OrchestratorClient(request.app.state.http)


ServiceOrchestrator = Annotated[OrchestratorClient, Depends(get_service_orchestrator)]


async def get_task_watcher(request: Request, owner: Caller) -> OrchestratorClient:
    """The task service for live progress, on the caller's behalf: on a pool of its own, so that long
    waits for changes never hold the connections task reads need."""
    return OrchestratorClient(request.app.state.watch_http, owner)


async def get_task_feeds(request: Request) -> TaskFeeds:
    return request.app.state.task_feeds


async def get_media(request: Request, owner: Caller) -> MediaClient:
    """The media service's uploads, on behalf of the authenticated caller."""
    return MediaClient(request.app.state.media_http, request.app.state.settings.media_service_url, owner)


async def get_models(request: Request, orchestrator: ServiceOrchestrator) -> ModelsClient:
    """The deployed models, with the app's cache of which server serves each."""
    return ModelsClient(request.app.state.models_http, request.app.state.model_routes, orchestrator)


Orchestrator = Annotated[OrchestratorClient, Depends(get_orchestrator)]
TaskWatcher = Annotated[OrchestratorClient, Depends(get_task_watcher)]
Feeds = Annotated[TaskFeeds, Depends(get_task_feeds)]
Media = Annotated[MediaClient, Depends(get_media)]
Models = Annotated[ModelsClient, Depends(get_models)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]
Keys = Annotated[ApiKeys, Depends(get_api_keys)]
