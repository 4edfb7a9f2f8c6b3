"""service_common.logging: LOG_FORMAT=json lines, the request and task ids on every record, and the redaction
filter on every handler (keys, webhook secrets, passwords in URLs never reach a log line)."""

import io
import json
import logging
import time

import pytest
from pydantic import ValidationError
from uvicorn.logging import AccessFormatter

from service_common.logging import UVICORN_LOGGERS, configure_logging, redact, write_in_background
from service_common.request_context import working_on
from service_common.settings import ServiceSettings


class Written:
    """What configure_logging's handler (on the test's stderr) has written so far."""

    def __init__(self, capsys):
        self.capsys, self.text = capsys, ""

    def getvalue(self) -> str:
        self.text += self.capsys.readouterr().err
        return self.text


@pytest.fixture
def stderr(capsys):
    """What configure_logging's handler writes; the process's logging set-up is put back afterwards."""
    root = logging.getLogger()
    names = (*UVICORN_LOGGERS, "thirdparty")
    saved = (root.handlers[:], root.level, logging.getLogRecordFactory(),
             {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate) for name in names})
    yield Written(capsys)
    root.handlers[:], level, factory, loggers = saved
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    for name, (handlers, propagate) in loggers.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


# ------------------------------------------------------------------------------------------ redaction

SECRETS = {
    "Authorization: Bearer sk-abcdefgh12345": "sk-abcdefgh12345",
    "headers={'authorization': 'Bearer tok-98765432', 'x-api-key': 'alice-key-0123456789'}": "98765432",
    '{"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}': "dXNlcjpwYXNzd29yZA",
    "[(b'authorization', b'Bearer raw-header-key-1'), (b'x-api-key', b'raw-x-api-key-2')]": "raw-",
    "X-API-Key: bob-key-0123456789abc": "bob-key",
    "GET /tasks?api_key=querykey123 HTTP/1.1": "querykey123",
    "signing with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "proxy http://alice:s3cr3tpw@proxy.example:3128 refused": "s3cr3tpw",
    "socks5://user:p@ss@127.0.0.1:9050 down": "p@ss",
    "database postgresql+psycopg://videoanalysis:dbpass99@postgres:5432/db unavailable": "dbpass99",
    "connecting with password=hunter2 host=db": "hunter2",
}


@pytest.mark.parametrize("line", SECRETS)
def test_secrets_are_taken_out_of_a_line(line):
    cleaned = redact(line)
    assert SECRETS[line] not in cleaned
    assert "[REDACTED]" in cleaned


@pytest.mark.parametrize("line", [
    "API_KEYS is not set: authentication is off",
    "http://127.0.0.1:8001/internal/tasks/5f1c9a0e",
    "mail bob@example.com about https://example.com:8443/path",
    "wrong password, try again",
    "extracting 12 keyframes",
])
def test_lines_without_secrets_are_left_alone(line):
    assert redact(line) == line


def test_the_filter_is_on_every_handler_and_keeps_uvicorns_access_log_working(stderr):
    # As uvicorn's command line leaves things before the app is built: loggers with handlers of their own.
    access_out, other_out = io.StringIO(), io.StringIO()
    access = logging.getLogger("uvicorn.access")
    access_handler = logging.StreamHandler(access_out)
    access_handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s',
                                                use_colors=False))
    access.handlers[:] = [access_handler]
    access.propagate = False
    other = logging.getLogger("thirdparty")
    other.handlers[:] = [logging.StreamHandler(other_out)]
    other.propagate = False
    configure_logging("svc", "INFO")

    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/tasks?api_key=leaky-key-123", "1.1", 200)
    other.warning("calling with %s", "Authorization: Bearer other-key-123456")
    logging.getLogger("svc.part").error("proxy %s failed", "http://u:proxypass@10.0.0.1:3128")
    try:
        raise RuntimeError("whsec_tracebacksecret0123 in a traceback")
    except RuntimeError:
        logging.getLogger("svc.part").exception("failed")

    written = access_out.getvalue() + other_out.getvalue() + stderr.getvalue()
    for secret in ("leaky-key-123", "other-key-123456", "proxypass", "tracebacksecret0123"):
        assert secret not in written
    assert access_out.getvalue() == '127.0.0.1:5000 - "GET /tasks?api_key=[REDACTED] HTTP/1.1" 200 OK\n'
    assert "RuntimeError: whsec_[REDACTED] in a traceback" in stderr.getvalue()


def test_a_secret_split_between_format_and_arguments_is_still_caught(stderr):
    configure_logging("svc", "INFO")
    logging.getLogger("svc").info("X-API-Key: %s", "split-secret-9876")
    assert "split-secret-9876" not in stderr.getvalue()
    assert "X-API-Key: [REDACTED]" in stderr.getvalue()


# ------------------------------------------------------------------------------------------ JSON lines


def test_json_lines_carry_service_logger_level_and_the_ids_where_known(stderr):
    configure_logging("media-service", "INFO", "json")
    log = logging.getLogger("media_service.download")
    with working_on("task-42", "req-abc"):
        log.info("downloaded media %s: %s bytes", "m1", 1234)
    log.warning("outside any task")
    try:
        raise ValueError("bad frame")
    except ValueError:
        log.exception("line\nbreaks stay in one line")
    first, second, third = json_lines(stderr.getvalue())
    assert first["message"] == "downloaded media m1: 1234 bytes"
    assert (first["service"], first["logger"], first["level"]) == ("media-service", "media_service.download", "INFO")
    assert (first["request_id"], first["task_id"]) == ("req-abc", "task-42")
    assert first["time"].endswith("Z") and time.strptime(first["time"][:19], "%Y-%m-%dT%H:%M:%S")
    assert "request_id" not in second and "task_id" not in second and second["level"] == "WARNING"
    assert third["message"] == "line\nbreaks stay in one line" and "ValueError: bad frame" in third["exception"]


def test_json_mode_sends_uvicorns_lines_through_the_json_handler(stderr):
    logging.getLogger("uvicorn.access").handlers[:] = [logging.StreamHandler(io.StringIO())]
    logging.getLogger("uvicorn.access").propagate = False
    configure_logging("gateway", "INFO", "json")
    with working_on(None, "req-access"):
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/", "1.1", 200)
    [line] = json_lines(stderr.getvalue())
    assert line["logger"] == "uvicorn.access" and line["request_id"] == "req-access"
    assert line["message"] == '127.0.0.1:1 - "GET / HTTP/1.1" 200'


def test_ids_are_taken_when_logged_even_when_written_by_another_thread(stderr):
    configure_logging("gateway", "INFO", "json")
    logger = logging.getLogger("uvicorn.access")
    write_in_background(logger)
    for n in range(20):
        with working_on(f"task-{n}", f"req-{n}"):
            logger.info("line %d", n)
    deadline = time.monotonic() + 10
    while stderr.getvalue().count("\n") < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    lines = json_lines(stderr.getvalue())
    assert [(line["request_id"], line["task_id"]) for line in lines] == [(f"req-{n}", f"task-{n}") for n in range(20)]


def test_log_format_setting():
    assert ServiceSettings(log_format=" JSON ").log_format == "json"
    assert ServiceSettings().log_format == "text"
    with pytest.raises(ValidationError):
        ServiceSettings(log_format="xml")
    with pytest.raises(ValueError):
        configure_logging("svc", "INFO", "yaml")
