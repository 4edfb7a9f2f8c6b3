"""Progress on stderr: a bar on a terminal, one line per stage otherwise (a log file has no use for a bar)."""

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn
from rich.progress import TimeElapsedColumn as Elapsed
from rich.text import Text

from .display import progress_line

# A task's statuses in order; each is one step of the bar, a stage's fraction moves within its step.
STAGES = ("pending", "downloading", "extracting_frames", "extracting_transcript", "analyzing_vision",
          "analyzing_text")


class TaskProgressView:
    """Use as a context manager; call `update(status, progress)` for each step seen."""

    def __init__(self, console: Console):
        self._console = console
        self._last_stage: str | None = None
        self._bar: Progress | None = None
        self._bar_task = None

    def __enter__(self) -> "TaskProgressView":
        if self._console.is_terminal:
            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TaskProgressColumn(), Elapsed(), console=self._console)
            self._bar.start()
            self._bar_task = self._bar.add_task("waiting", total=len(STAGES))
        return self

    def update(self, status: str, progress: dict | None) -> None:
        stage = (progress or {}).get("stage") or status
        line = progress_line(status, progress)
        if self._bar is not None:
            step = STAGES.index(stage) if stage in STAGES else 0
            fraction = (progress or {}).get("fraction") or 0.0
            self._bar.update(self._bar_task, description=line, completed=step + min(max(fraction, 0.0), 1.0))
        elif stage != self._last_stage:
            # Without a terminal only each new stage is worth a line, not each percent of it.
            self._console.print(Text(f"… {line}"))
        self._last_stage = stage

    def finish(self, status: str) -> None:
        if self._bar is not None:
            self._bar.update(self._bar_task, description=status,
                             completed=len(STAGES) if status == "completed" else None)
        else:
            self._console.print(Text(f"… {status}"))

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.stop()


class UploadProgressView:
    """Bytes sent of a file being uploaded; silent without a terminal."""

    def __init__(self, console: Console, name: str, total: int):
        self._bar = None
        if console.is_terminal:
            self._bar = Progress(TextColumn(f"uploading {name}"), BarColumn(), DownloadColumn(), console=console)
            self._task = self._bar.add_task("upload", total=total)

    def __enter__(self) -> "UploadProgressView":
        if self._bar is not None:
            self._bar.start()
        return self

    def sent(self, done: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done)

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.stop()
