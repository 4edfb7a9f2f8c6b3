"""Run a fetch job in the child process (download_worker) with a time limit that kills it."""

import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

from service_common.errors import PermanentError, ServiceError, TransientError

log = logging.getLogger(__name__)


def failure(detail: str, status: int, retryable: bool) -> ServiceError:
    error: ServiceError = TransientError(detail) if retryable else PermanentError(detail)
    error.status_code = status  # type: ignore[attr-defined]
    return error


def _kill_group(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def start_worker(
    work_dir: Path, stdout: int = asyncio.subprocess.DEVNULL, **options
) -> asyncio.subprocess.Process:
    """The fetch worker (media_service.download_worker) as a child process in `work_dir`."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-P",  # the work dir (its cwd) is not put on sys.path: nothing there is ever imported
        "-m",
        "media_service.download_worker",
        stdin=asyncio.subprocess.PIPE,
        stdout=stdout,
        stderr=asyncio.subprocess.PIPE,
        cwd=work_dir,
        start_new_session=True,  # its own process group, so a kill reaches its children
        **options,
    )


async def run_job(job: dict, timeout_s: float, what: str, work_dir: Path) -> dict:
    """The worker's successful result, or a ServiceError saying "{what} failed: ..." """
    fd, result_path = tempfile.mkstemp(prefix="result-", suffix=".json", dir=work_dir)
    os.close(fd)
    os.unlink(result_path)
    job = {**job, "result_path": result_path}
    process = await start_worker(work_dir)
    try:
        _, stderr = await asyncio.wait_for(process.communicate(json.dumps(job).encode()), timeout_s)
    except TimeoutError:
        _kill_group(process)
        await process.wait()
        raise failure(f"{what} timed out after {timeout_s:g} s", 504, True) from None
    except BaseException:
        # The request was cancelled (client gone, shutdown): the fetch must not outlive it.
        _kill_group(process)
        raise
    try:
        result = json.loads(Path(result_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] if stderr else []
        log.error("fetch worker exited with %s without a result: %s", process.returncode, tail)
        raise failure(
            f"{what} failed: the fetch process exited with code {process.returncode}", 502, True
        ) from None
    finally:
        Path(result_path).unlink(missing_ok=True)
    return checked_result(result, what)


def checked_result(result: dict, what: str) -> dict:
    """The worker's result when it succeeded; else the failure it reported, as a ServiceError."""
    if not result.get("ok"):
        raise failure(
            f"{what} failed: {result.get('detail')}",
            int(result.get("status", 422)),
            bool(result.get("retryable")),
        )
    return result
