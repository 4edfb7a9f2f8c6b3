"""Run a job in a child process (the fetch worker, download_worker, or the decode worker,
decode_worker) with a time limit that kills it, and kill it too when the request is cancelled."""

import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from service_common.errors import PermanentError, ServiceError, TransientError

log = logging.getLogger(__name__)


def failure(detail: str, status: int, retryable: bool) -> ServiceError:
    error: ServiceError = TransientError(detail) if retryable else PermanentError(detail)
    error.status_code = status  # type: ignore[attr-defined]
    return error


@dataclass(frozen=True)
class WorkerKind:
    module: str
    role: str  # how errors name the process: "the fetch process exited with code 1"
    # A fetch that ran out of time or died may do better later; a decode of the same file would not.
    retryable: bool = True
    limit_setting: str = ""  # the setting that sets the time limit, named in the error
    env: dict[str, str] = field(default_factory=dict)


FETCH = WorkerKind("media_service.download_worker", "fetch")


def die_with_parent() -> None:
    """Called first in a worker: one orphaned by a killed service must not go on (Linux; elsewhere
    a no-op)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def write_result(result_path: str, result: dict) -> None:
    """A worker's last act: its result, whole or not at all (the service reads it once the worker ends)."""
    tmp = Path(result_path + ".tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    tmp.replace(result_path)


def _kill_group(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def start_worker(
    work_dir: Path, stdout: int = asyncio.subprocess.DEVNULL, kind: WorkerKind = FETCH, **options
) -> asyncio.subprocess.Process:
    """The worker of `kind` as a child process in `work_dir`."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-P",  # the work dir (its cwd) is not put on sys.path: nothing there is ever imported
        "-m",
        kind.module,
        stdin=asyncio.subprocess.PIPE,
        stdout=stdout,
        stderr=asyncio.subprocess.PIPE,
        cwd=work_dir,
        start_new_session=True,  # its own process group, so a kill reaches its children
        env={**os.environ, **kind.env} if kind.env else None,
        **options,
    )


async def run_child(job: dict, timeout_s: float, what: str, work_dir: Path, kind: WorkerKind = FETCH) -> dict:
    """The result the worker wrote, whether it succeeded or not; a ServiceError when it ran out of
    time or wrote none. The child is killed if this is cancelled (client gone, task deleted, shutdown)."""
    fd, result_path = tempfile.mkstemp(prefix="result-", suffix=".json", dir=work_dir)
    os.close(fd)
    os.unlink(result_path)
    job = {**job, "result_path": result_path}
    process = await start_worker(work_dir, kind=kind)
    try:
        _, stderr = await asyncio.wait_for(process.communicate(json.dumps(job).encode()), timeout_s)
    except TimeoutError:
        _kill_group(process)
        await process.wait()
        status = 504 if kind.retryable else 422
        limit = f" ({kind.limit_setting})" if kind.limit_setting else ""
        raise failure(f"{what} timed out after {timeout_s:g} s{limit}", status, kind.retryable) from None
    except BaseException:
        # The request was cancelled (client gone, shutdown): the child's work must not outlive it.
        _kill_group(process)
        raise
    try:
        return json.loads(Path(result_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] if stderr else []
        log.error("%s worker exited with %s without a result: %s", kind.role, process.returncode, tail)
        raise failure(
            f"{what} failed: the {kind.role} process exited with code {process.returncode}",
            502 if kind.retryable else 422,
            kind.retryable,
        ) from None
    finally:
        Path(result_path).unlink(missing_ok=True)


async def run_job(job: dict, timeout_s: float, what: str, work_dir: Path, kind: WorkerKind = FETCH) -> dict:
    """The worker's successful result, or a ServiceError saying "{what} failed: ..." """
    return checked_result(await run_child(job, timeout_s, what, work_dir, kind), what)


def checked_result(result: dict, what: str) -> dict:
    """The worker's result when it succeeded; else the failure it reported, as a ServiceError."""
    if not result.get("ok"):
        raise failure(
            f"{what} failed: {result.get('detail')}",
            int(result.get("status", 422)),
            bool(result.get("retryable")),
        )
    return result
