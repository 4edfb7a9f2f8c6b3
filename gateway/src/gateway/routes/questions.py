"""Questions about an analysed video: POST /tasks/{task_id}/ask, answered by the orchestrator."""

from fastapi import APIRouter, HTTPException, Response

from service_common.contracts import AskRequest

from ..clients.orchestrator import TaskNotReady
from ..deps import Orchestrator, Settings
from ..schemas import AnswerResponse, ErrorResponse, QuestionRequest
from ..task_ids import parse_task_id, task_not_found
from .tasks import NOT_FOUND, UNAVAILABLE, UNREADABLE_BODY

router = APIRouter(tags=["tasks"])


@router.post(
    "/tasks/{task_id}/ask",
    response_model=AnswerResponse,
    summary="Ask a question about an analysed video",
    responses={
        **UNREADABLE_BODY,
        **NOT_FOUND,
        409: {"model": ErrorResponse, "description": "The task is not completed (the detail says its status)"},
        422: {"description": "The question is empty, or longer than 1,000 characters"},
        **UNAVAILABLE,
    },
)
async def ask(task_id: str, body: QuestionRequest, orchestrator: Orchestrator, settings: Settings) -> Response:
    """The answer, drawn only from the task's transcript, chapters and frame descriptions, with the passages
    it comes from and their times. The passages that best match the question are found first, and the
    task's text model answers from those, citing them as [n]; on the lite models the answer quotes them."""
    parsed = parse_task_id(task_id)
    try:
        # The text model takes its time: as long as a model call through /v1 may (MODEL_CALL_TIMEOUT_S).
        answer = await orchestrator.ask(parsed, AskRequest(question=body.question), settings.model_call_timeout_s)
    except TaskNotReady as exc:
        raise HTTPException(409, exc.detail) from None
    if answer is None:
        raise task_not_found(task_id)
    # An AskAnswer is the public answer field for field.
    return Response(answer.model_dump_json(), media_type="application/json")
