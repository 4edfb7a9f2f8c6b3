"""Request-scoped access to what the app factory built, so tests can build apps with other settings.

Each is `async def` although none awaits: FastAPI runs a plain `def` dependency in its thread pool, and
handing every request to a thread and back costs more than the rest of a task read.
"""

from typing import Annotated

from fastapi import Depends, Request

from .clients.orchestrator import OrchestratorClient
from .config import GatewaySettings
from .security import Caller


async def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


async def get_orchestrator(request: Request, owner: Caller) -> OrchestratorClient:
    """The task service, on behalf of the authenticated caller."""
    return OrchestratorClient(request.app.state.http, owner)


async def get_service_orchestrator(request: Request) -> OrchestratorClient:
    """The task service for calls that concern no one's tasks (health): no key needed."""
    return OrchestratorClient(request.app.state.http)


ServiceOrchestrator = Annotated[OrchestratorClient, Depends(get_service_orchestrator)]
Orchestrator = Annotated[OrchestratorClient, Depends(get_orchestrator)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]
