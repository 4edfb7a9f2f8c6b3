"""The gateway's access log is written by a thread of its own (service_common.logging.write_in_background):
every line still arrives, in order, and those still waiting at exit are written then."""

import logging
import subprocess
import sys
import threading
import time

import httpx

from service_common.logging import write_in_background
from tests.support.processes import free_port, run_service


class SlowStream:
    """A log destination whose writes take time, as a pipe to a busy reader does."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.writers: set[str] = set()

    def write(self, text: str) -> None:
        self.writers.add(threading.current_thread().name)
        time.sleep(0.01)
        self.writes.append(text)

    def flush(self) -> None:
        pass


def test_lines_are_written_off_the_logging_thread_in_order_and_in_batches():
    logger = logging.getLogger("test.background")
    stream = SlowStream()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(args)s"))
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    write_in_background(logger)
    for n in range(200):
        logger.info("line %d", n)  # formatted later, from its arguments
    for _ in range(500):
        if sum(text.count("\n") for text in stream.writes) == 200:
            break
        time.sleep(0.01)
    lines = "".join(stream.writes).splitlines()
    assert lines == [f"line {n} ({n},)" for n in range(200)]
    assert len(stream.writes) < 200  # several lines to a write while the stream was busy
    assert threading.current_thread().name not in stream.writers


def test_waiting_lines_are_written_at_exit():
    script = (
        "import logging, sys\n"
        "from service_common.logging import write_in_background\n"
        "logger = logging.getLogger('exit')\n"
        "logger.addHandler(logging.StreamHandler(sys.stdout))\n"
        "logger.setLevel(logging.INFO)\n"
        "write_in_background(logger)\n"
        "for n in range(1000): logger.info('line %d', n)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60).stdout
    assert out.splitlines() == [f"line {n}" for n in range(1000)]


def test_the_gateway_still_logs_each_request(tmp_path):
    log = tmp_path / "gateway.log"
    env = {"ORCHESTRATOR_URL": "http://127.0.0.1:9", "RATE_LIMIT": "0"}
    with run_service("gateway.app:create_app", free_port(), env=env, health_path="/", log=log) as (base, _):
        for n in range(20):
            httpx.get(f"{base}/?n={n}")
    logged = [line for line in log.read_text().splitlines() if '"GET /?n=' in line]
    assert [line.split("?n=")[1].split(" ")[0] for line in logged] == [str(n) for n in range(20)]
