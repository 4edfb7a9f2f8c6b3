"""Request-scoped access to what the app factory built, so tests can build apps with other settings."""

from typing import Annotated

from fastapi import Depends, Request

from .clients.orchestrator import OrchestratorClient
from .config import GatewaySettings


def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


def get_orchestrator(request: Request) -> OrchestratorClient:
    return OrchestratorClient(request.app.state.http)


Orchestrator = Annotated[OrchestratorClient, Depends(get_orchestrator)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]
