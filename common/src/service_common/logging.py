"""One log format for every service, so interleaved logs of `make run` stay readable; or, with
LOG_FORMAT=json, one JSON object a line for a log collector. Either way every line passes the redaction
filter (no key, webhook secret or password reaches a log), and each record carries the request id and task
id of the work it was logged for (service_common.request_context)."""

import atexit
import json
import logging
import queue
import re
import sys
import threading
import time
from datetime import UTC, datetime
from logging.handlers import QueueHandler

from .request_context import request_id, task_id

LOG_FORMATS = ("text", "json")
# uvicorn's own loggers, which have handlers of their own when uvicorn configured logging (its command line).
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
# How often a background writer (write_in_background) writes what has been logged since its last write.
WRITE_EVERY_S = 0.05


def configure_logging(service: str, level: str = "INFO", log_format: str = "text") -> None:
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    _keep_context_on_records()
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(service))
        # uvicorn's lines (start-up, access log) go out as JSON too, through the root's handler.
        for name in UVICORN_LOGGERS:
            logging.getLogger(name).handlers[:] = []
            logging.getLogger(name).propagate = True
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    redact_every_handler()


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, service, logger, message, and request_id, task_id and
    exception where there are any."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "task_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def _keep_context_on_records() -> None:
    """Have every record take the request and task ids when it is made: it may be formatted later, on
    another thread (write_in_background), where the request's context is not."""
    current = logging.getLogRecordFactory()
    if getattr(current, "keeps_request_context", False):
        return

    def with_context(*args, **kwargs) -> logging.LogRecord:
        record = current(*args, **kwargs)
        record.request_id = request_id.get()
        record.task_id = task_id.get()
        return record

    with_context.keeps_request_context = True
    logging.setLogRecordFactory(with_context)


# ------------------------------------------------------------------------------------------- redaction

REDACTED = "[REDACTED]"
# `Authorization: Bearer …`, `"x-api-key": "…"`, `api_key=…`, `password=…` (a header, a dict, a JSON body,
# a query string or a connection string): the name stays, the value goes.
_NAMED_SECRET = re.compile(
    r"(?i)\b(authorization|proxy-authorization|x-api-key|api[_-]?key|metrics[_-]?token|access[_-]?token"
    r"|secret|password|passwd)\b([\"']?\s*(?:[:=]|,(?=\s*b?[\"']))\s*(?:b?[\"'])?)((?:bearer|basic|token)\s+)?([^\s\"',;&}\])]+)")
# A credential without its header's name, e.g. a header tuple written out: (b'authorization', b'Bearer …').
_BARE_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})")
# Webhook signing secrets.
_WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=_-]+")
# The password in a URL's userinfo (http://user:pass@host, a proxy, a database URL): up to the last @ of
# the authority, so a password with an @ in it goes whole.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*):[^\s/]*@")


# Words one of the two patterns above needs: a line with none of them (most lines) is not searched.
_CREDENTIAL_WORDS = ("authoriz", "key", "token", "secret", "passw", "bearer", "basic")


def redact(text: str) -> str:
    """`text` without the secrets a log line must never carry."""
    lowered = text.lower()
    if any(word in lowered for word in _CREDENTIAL_WORDS):
        text = _NAMED_SECRET.sub(lambda m: f"{m[1]}{m[2]}{m[3] or ''}{REDACTED}", text)
        text = _BARE_CREDENTIAL.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    if "whsec_" in text:
        text = _WEBHOOK_SECRET.sub("whsec_" + REDACTED, text)
    if "@" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m[1]}:{REDACTED}@", text)
    return text


def _redacted_args(args):
    if isinstance(args, tuple):
        return tuple(redact(a) if isinstance(a, str) else a for a in args)
    if isinstance(args, dict):
        return {k: redact(v) if isinstance(v, str) else v for k, v in args.items()}
    return args


_TRACEBACKS = logging.Formatter()


class RedactSecrets(logging.Filter):
    """Takes secrets out of a record before any handler writes it: its message, its arguments (kept as
    arguments where that is enough, since some formatters need them: uvicorn's access log), its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - arguments that do not fit the format: the handler reports it
            return True
        clean = redact(message)
        if clean != message:
            record.args = _redacted_args(record.args)
            if record.getMessage() != clean:  # the secret spans the format and its arguments
                record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record.redacted = True
        return True


def redact_every_handler() -> None:
    """Put the redaction filter on every handler there is (the root's, uvicorn's, any other's)."""
    known = list(logging.Logger.manager.loggerDict.values())  # one copy: other threads may add loggers
    loggers = [logging.getLogger(), *(logger for logger in known if isinstance(logger, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())


class _KeepRecords(QueueHandler):
    """Queues the record as it is: its formatter runs later and may need its `args` (uvicorn's access
    log does). Nothing leaves the process, so nothing needs to be turned into text first."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


def write_in_background(logger: logging.Logger) -> None:
    """Have `logger`'s lines written by a thread of its own, as many as are waiting in one write.

    For a log of every request (uvicorn's access log): written where they are logged, each line is a
    write and a flush on the event loop, which then waits whenever whoever reads the output (a terminal,
    `make run`'s supervisor) falls behind. Lines keep their order and reach the output at most
    WRITE_EVERY_S late; the ones still waiting at exit are written then."""
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
        # Woken for every line, the writer would take the GIL from the event loop once a request under load;
        # waking at most every WRITE_EVERY_S, it writes whatever came meanwhile in one go.
        time.sleep(WRITE_EVERY_S)


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
