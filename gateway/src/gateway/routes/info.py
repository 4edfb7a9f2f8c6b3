"""`GET /` (the seed's API description) and `GET /health` (aggregated from the orchestrator)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service_common.contracts import OrchestratorHealth
from service_common.errors import ServiceError, TransientError

from ..deps import ServiceOrchestrator
from ..errors import public_unavailable_detail
from ..schemas import EndpointStatus, HealthComponents, HealthResponse

router = APIRouter(tags=["service"])

API_NAME = "YouTube Video Analysis API"
API_VERSION = "1.0.0"
API_DESCRIPTION = "YouTube video analysis using Llama 3.2 Vision + Llama 3.1"
# The seed's four entries first and unchanged; later entries are additions.
ENDPOINTS = {
    "POST /analyze": "start a video analysis task",
    "GET /tasks/{task_id}": "task status and result",
    "GET /tasks": "list all tasks",
    "DELETE /tasks/{task_id}": "delete a task",
    "GET /health": "server and GPU status",
    "GET /tasks/{task_id}/events": "live progress of a task (Server-Sent Events)",
    "GET /ui": "the web page: submit, watch and read analyses",
    "POST /tasks/{task_id}/ask": "ask a question about an analysed video; the answer cites its passages",
    "GET /tasks/{task_id}/transcript.srt": "the transcript as SubRip subtitles",
    "GET /tasks/{task_id}/transcript.vtt": "the transcript as WebVTT subtitles",
    "GET /tasks/{task_id}/report.md": "the results as a Markdown report",
}


@router.get("/", summary="API information and the list of endpoints")
async def root() -> dict:
    return {"name": API_NAME, "version": API_VERSION, "description": API_DESCRIPTION, "endpoints": ENDPOINTS}


def summarize_health(health: OrchestratorHealth) -> HealthResponse:
    """The public health view: GPU facts come from the model endpoints that actually answer."""
    gpu_endpoints = [e for e in health.endpoints if e.reachable and e.gpu_available]
    unreachable = [f"{e.role}/{e.tier}" for e in health.endpoints if not e.reachable]
    problems = []
    if not health.database_ok:
        problems.append("the task database is not answering")
    if unreachable:
        problems.append("model endpoints not reachable: " + ", ".join(unreachable))
    if not health.endpoints:
        # With no model endpoint no task can finish, even though the API itself answers.
        problems.append("no model endpoint is configured")
    # Without its database the API can neither take nor report tasks: that is down, not degraded.
    status = "unhealthy" if not health.database_ok else "degraded" if problems else "healthy"
    return HealthResponse(
        status=status,
        gpu_available=bool(gpu_endpoints),
        gpu_name=gpu_endpoints[0].gpu_name if gpu_endpoints else None,
        active_tasks=health.active_tasks,
        components=HealthComponents(
            orchestrator=True,
            database=health.database_ok,
            # Internal base URLs are left out: they are the operator's business, not the public's.
            endpoints=[EndpointStatus(**e.model_dump(exclude={"base_url"})) for e in health.endpoints],
        ),
        detail="; ".join(problems) or None,
    )


@router.get(
    "/health",
    response_model=HealthResponse,
    summary="Server and GPU status",
    responses={503: {"model": HealthResponse, "description": "The task service or its database is unreachable"}},
)
async def health(orchestrator: ServiceOrchestrator):
    """200 while the API can take requests (healthy or degraded); 503 when it cannot."""
    try:
        summary = summarize_health(await orchestrator.health())
        if summary.status == "unhealthy":
            return JSONResponse(status_code=503, content=summary.model_dump(mode="json"))
        return summary
    except ServiceError as exc:
        body = HealthResponse(
            status="unhealthy",
            gpu_available=False,
            gpu_name=None,
            active_tasks=0,
            components=HealthComponents(orchestrator=False, database=False),
            detail=public_unavailable_detail(exc) if isinstance(exc, TransientError) else exc.message,
        )
        return JSONResponse(status_code=503, content=body.model_dump(mode="json"))
