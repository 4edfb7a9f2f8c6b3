"""One log format for every service, so interleaved logs of `make run` stay readable."""

import atexit
import logging
import queue
import sys
import threading
from logging.handlers import QueueHandler


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class _KeepRecords(QueueHandler):
    """Queues the record as it is: its formatter runs later and may need its `args` (uvicorn's access
    log does). Nothing leaves the process, so nothing needs to be turned into text first."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


def write_in_background(logger: logging.Logger) -> None:
    """Have `logger`'s lines written by a thread of its own, as many as are waiting in one write.

    For a log of every request (uvicorn's access log): written where they are logged, each line is a
    write and a flush on the event loop, which then waits whenever whoever reads the output (a terminal,
    `make run`'s supervisor) falls behind. Lines keep their order; the ones still waiting at exit are
    written then."""
    handlers = list(logger.handlers or (logging.getLogger().handlers if logger.propagate else []))
    if not handlers:
        return
    waiting: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    logger.handlers[:] = [_KeepRecords(waiting)]
    logger.propagate = False
    threading.Thread(target=_write_forever, args=(waiting, handlers), name=f"{logger.name} writer",
                     daemon=True).start()
    atexit.register(_write_waiting, waiting, handlers)


def _write_forever(waiting: queue.SimpleQueue, handlers: list[logging.Handler]) -> None:
    while True:
        _write([waiting.get()], waiting, handlers)


def _write_waiting(waiting: queue.SimpleQueue, handlers: list[logging.Handler]) -> None:
    _write([], waiting, handlers)


def _write(records: list[logging.LogRecord], waiting: queue.SimpleQueue, handlers: list[logging.Handler]) -> None:
    while True:
        try:
            records.append(waiting.get_nowait())
        except queue.Empty:
            break
    for handler in handlers:
        shown = [record for record in records if record.levelno >= handler.level and handler.filter(record)]
        if not shown:
            continue
        if isinstance(handler, logging.StreamHandler):
            text = "".join(handler.format(record) + handler.terminator for record in shown)
            with handler.lock:  # the writer thread and the last write at exit share the stream
                try:
                    handler.stream.write(text)
                    handler.flush()
                except Exception:  # noqa: BLE001 - as logging does: a broken log stream never stops the service
                    handler.handleError(shown[-1])
        else:
            for record in shown:
                handler.handle(record)
