"""Child processes of the service, the fetch process (fetch/process.py) and the decode process
(decode/process.py), and how the service talks to them. The service writes one JSON job line on the
child's stdin (a download also sends "go" later); the child's last act is writing one JSON result to the
job's `result_path`, whole or not at all. The service kills the child's whole process group when its
time runs out, when the request is cancelled (client gone, task deleted, shutdown), or when it no longer
needs it."""

import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .atomic_files import write_json_atomically
from .errors import MediaError

log = logging.getLogger(__name__)
T = TypeVar("T")
STDERR_LINES_KEPT = 5


@dataclass(frozen=True)
class ChildKind:
    module: str  # run as `python -m <module>`
    role: str  # how errors name the process: "the fetch process exited with code 1"
    # A fetch that ran out of time or died may do better later; a decode of the same file would not.
    retryable: bool = True
    limit_setting: str = ""  # the setting that sets the time limit, named in the error
    env: dict[str, str] = field(default_factory=dict)


FETCH = ChildKind("media_service.fetch.process", "fetch")


class ChildProcess:
    """One child running `job`: use as `async with ChildProcess(...) as child:`. Leaving the block kills
    it if it still runs, and removes its result file. Every wait on it is bounded by `timeout_s`; `what`
    names the work in errors ("download timed out after 600 s")."""

    def __init__(self, kind: ChildKind, job: dict, work_dir: Path, timeout_s: float, what: str, *,
                 stdout: int = asyncio.subprocess.DEVNULL, keep_stdin_open: bool = False, **options):
        fd, result_path = tempfile.mkstemp(prefix="result-", suffix=".json", dir=work_dir)
        os.close(fd)
        os.unlink(result_path)
        self.result_path = Path(result_path)
        self.job = {**job, "result_path": result_path}
        self.kind, self.work_dir, self.timeout_s, self.what = kind, work_dir, timeout_s, what
        self.process: asyncio.subprocess.Process | None = None
        self._stdout, self._keep_stdin_open, self._options = stdout, keep_stdin_open, options
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES_KEPT)
        self._stderr_task: asyncio.Task | None = None

    async def __aenter__(self) -> "ChildProcess":
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",  # the work dir (its cwd) is not put on sys.path: nothing there is ever imported
            "-m",
            self.kind.module,
            stdin=asyncio.subprocess.PIPE,
            stdout=self._stdout,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.work_dir,
            start_new_session=True,  # its own process group, so a kill reaches its children
            env={**os.environ, **self.kind.env} if self.kind.env else None,
            **self._options,
        )
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        try:
            await self.send_line(json.dumps(self.job))
            if not self._keep_stdin_open:
                self.process.stdin.close()
        except BaseException:
            # Cancelled before the block began: __aexit__ will not run, so the child is stopped here.
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self.process is not None and self.process.returncode is None:
            kill_group(self.process)
            await self.process.wait()
        if self._stderr_task is not None:
            self._stderr_task.cancel()
        self.result_path.unlink(missing_ok=True)

    async def send_line(self, line: str) -> None:
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def _drain_stderr(self) -> None:
        # Read it all, or a chatty child would block on a full pipe; the last lines go to the log.
        async for line in self.process.stderr:
            if text := line.decode(errors="replace").rstrip():
                self._stderr.append(text)

    async def timed(self, work: Awaitable[T]) -> T:
        """`work`, or a MediaError "{what} timed out" once `timeout_s` has passed."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await work
        except TimeoutError:
            limit = f" ({self.kind.limit_setting})" if self.kind.limit_setting else ""
            status = 504 if self.kind.retryable else 422
            raise MediaError(f"{self.what} timed out after {self.timeout_s:g} s{limit}", status,
                             self.kind.retryable) from None

    async def finished(self) -> dict:
        """The result the child wrote once it has ended, whether it succeeded or not."""
        await self.timed(self.process.wait())
        return self.result()

    def result(self) -> dict:
        """The result the child wrote; a MediaError when it wrote none (it crashed or was killed)."""
        try:
            return json.loads(self.result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            code = self.process.returncode if self.process else None
            log.error("%s process exited with %s without a result: %s", self.kind.role, code, list(self._stderr)[-1:])
            raise MediaError(
                f"{self.what} failed: the {self.kind.role} process exited with code {code}",
                502 if self.kind.retryable else 422,
                self.kind.retryable,
            ) from None


def kill_group(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def run_child(job: dict, timeout_s: float, what: str, work_dir: Path, kind: ChildKind = FETCH) -> dict:
    """The result the child wrote, whether it succeeded or not; a MediaError when it ran out of time
    or wrote none."""
    async with ChildProcess(kind, job, work_dir, timeout_s, what) as child:
        return await child.finished()


async def run_job(job: dict, timeout_s: float, what: str, work_dir: Path, kind: ChildKind = FETCH) -> dict:
    """The child's successful result, or a MediaError saying "{what} failed: ..." """
    return checked_result(await run_child(job, timeout_s, what, work_dir, kind), what)


def checked_result(result: dict, what: str) -> dict:
    """The child's result when it succeeded; else the failure it reported, as a MediaError."""
    if not result.get("ok"):
        raise MediaError(
            f"{what} failed: {result.get('detail')}", int(result.get("status", 422)), bool(result.get("retryable"))
        )
    return result


# The child's side.


def die_with_parent() -> None:
    """Called first in a child: one orphaned by a killed service must not go on (Linux; elsewhere a no-op)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve_one_job(run: Callable[[dict], dict], prepare: Callable[[dict], None] | None = None) -> int:
    """A child's whole life: read the job line, `prepare` for it (resource limits), `run` it and write
    what it returns as the result."""
    die_with_parent()  # an orphaned child must not go on downloading or decoding
    job = json.loads(sys.stdin.readline())  # a download reads its "go" from the next line
    if prepare is not None:
        prepare(job)
    write_json_atomically(Path(job["result_path"]), run(job))
    return 0
