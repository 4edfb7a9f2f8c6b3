"""The shared test plumbing itself: `running` (start, logs on failure, stop) and the counting origin."""

import httpx
import pytest

from tests.support.counting_origin import counting_server
from tests.support.stack import running


class RecordingStack:
    """Stands in for a Stack: records what `running` asks of it."""

    def __init__(self):
        self.calls: list[tuple] = []

    def start(self, *names: str) -> None:
        self.calls.append(("start", *names))

    def logs(self) -> str:
        return "--- gateway.log\nthe gateway said this"

    def stop(self) -> None:
        self.calls.append(("stop",))


def test_running_starts_the_named_services_and_stops_them_without_printing(capsys):
    stack = RecordingStack()
    with running(stack, "orchestrator", "gateway") as yielded:
        assert yielded is stack and stack.calls == [("start", "orchestrator", "gateway")]
    assert stack.calls[-1] == ("stop",)
    assert capsys.readouterr().out == ""


def test_running_prints_every_log_when_the_block_fails_and_still_stops(capsys):
    stack = RecordingStack()
    with pytest.raises(AssertionError, match="boom"), running(stack, more_logs=lambda: "the model server said that"):
        raise AssertionError("boom")
    assert stack.calls == [("start",), ("stop",)]
    printed = capsys.readouterr().out
    assert "the gateway said this" in printed and "the model server said that" in printed


def test_running_with_its_own_start_does_not_start_the_services_itself():
    stack = RecordingStack()
    with running(stack, start=lambda: stack.calls.append(("own start",))):
        pass
    assert stack.calls == [("own start",), ("stop",)]


def test_a_failed_start_prints_the_logs_and_stops_what_started(capsys):
    stack = RecordingStack()

    def start() -> None:
        raise RuntimeError("the orchestrator exited")

    with pytest.raises(RuntimeError), running(stack, start=start):
        pytest.fail("the block must not run")
    assert stack.calls == [("stop",)]
    assert "the gateway said this" in capsys.readouterr().out


def test_the_counting_origin_counts_gets_by_path_and_connections(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"0" * 100)
    with counting_server(tmp_path) as origin:
        assert origin.base == f"http://127.0.0.1:{origin.port}"
        assert httpx.get(f"{origin.base}/clip.mp4").content == b"0" * 100
        assert httpx.get(f"{origin.base}/status/404/x").status_code == 404
        assert origin.gets == {"/clip.mp4": 1, "/status/404/x": 1}
        assert origin.connections == 2
