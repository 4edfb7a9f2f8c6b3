"""Routes for downloads: start one (or find it stored), follow its progress, cancel it."""

from fastapi import APIRouter, Request, Response

from service_common.contracts import DownloadProgress, DownloadRequest, DownloadResult

from ..deps import Downloads
from ..routing import ERRORS, unless_caller_leaves

router = APIRouter()


@router.post("/downloads", response_model=DownloadResult, responses=ERRORS)
async def create_download(body: DownloadRequest, request: Request, downloader: Downloads) -> DownloadResult:
    """A caller that hangs up stops waiting, not the fetch: the task's next worker picks it up (asking
    with the same job id). DELETE /downloads/{job_id} stops it."""
    return await unless_caller_leaves(request, downloader.download(body))


@router.get("/downloads/{job_id}/progress", response_model=DownloadProgress)
async def get_download_progress(job_id: str, downloader: Downloads) -> DownloadProgress:
    """The latest progress of the download started with this job_id; state "unknown" if none."""
    return downloader.progress.get(job_id)


@router.delete("/downloads/{job_id}", status_code=204)
async def cancel_download(job_id: str, downloader: Downloads) -> Response:
    """Stop the download started with this job_id: its fetch process is killed, its partial files are
    removed, and its POST /downloads is answered 409 "download cancelled". 204 also when none runs.
    Another request for the same video that was waiting for this one goes on and fetches it itself."""
    await downloader.cancel(job_id)
    return Response(status_code=204)
