"""Request-scoped access to what the app factory built, so tests can build apps with other settings.

Each is `async def` although none awaits: FastAPI runs a plain `def` dependency in its thread pool, and
handing every request to a thread and back costs more than the rest of a task read.
"""

from typing import Annotated

from fastapi import Depends, Request

from .answers import TaskAnswers
from .clients.media import MediaClient
from .clients.models import ModelClient
from .config import OrchestratorSettings
from .db import Sessions
from .deployments import Deployments
from .questions import Questions
from .retention import MediaJanitor
from .task_changes import TaskChanges


async def get_settings(request: Request) -> OrchestratorSettings:
    return request.app.state.settings


async def get_deployments(request: Request) -> Deployments:
    return request.app.state.deployments


async def get_sessions(request: Request) -> Sessions:
    return request.app.state.sessions


async def get_answers(request: Request) -> TaskAnswers:
    return request.app.state.answers


async def get_changes(request: Request) -> TaskChanges:
    return request.app.state.changes


async def get_media(request: Request) -> MediaClient:
    return request.app.state.media


async def get_models(request: Request) -> ModelClient:
    return request.app.state.models


async def get_questions(request: Request) -> Questions:
    return request.app.state.questions


async def get_janitor(request: Request) -> MediaJanitor:
    return request.app.state.janitor


Settings = Annotated[OrchestratorSettings, Depends(get_settings)]
DeployedModels = Annotated[Deployments, Depends(get_deployments)]
DatabaseSessions = Annotated[Sessions, Depends(get_sessions)]
Answers = Annotated[TaskAnswers, Depends(get_answers)]
Changes = Annotated[TaskChanges, Depends(get_changes)]
Media = Annotated[MediaClient, Depends(get_media)]
Models = Annotated[ModelClient, Depends(get_models)]
AskedQuestions = Annotated[Questions, Depends(get_questions)]
Janitor = Annotated[MediaJanitor, Depends(get_janitor)]
