"""However `make run` ends, nothing of the stack outlives it: every service, and every child of one,
including children in sessions of their own (as the media service's download workers are)."""

import os
import signal
import subprocess

import pytest

from tests.support.processes import REPO

from .harness import answer, make_run, port_is_free, ports, runner, tiny_procfile, wait_for


def start_tiny_stack(tmp_path, launcher):
    port = ports("web", "worker")
    procfile = tiny_procfile(tmp_path, {"web": f"--port {port['web']}",
                                        "worker": f"--port {port['worker']} --session-child"})
    run = launcher(procfile)
    answers = {name: wait_for(lambda p=p: answer(p), 30, lambda name=name: f"{name} did not answer:\n{run.output()}")
               for name, p in port.items()}
    return run, port, answers


def assert_nothing_left(run, port, within_s: float):
    wait_for(lambda: not run.left(), within_s,
             lambda: f"still running {within_s} s later: {run.left()}\n{run.output()}")
    assert all(port_is_free(p) for p in port.values())


def kill_make_group(signum):
    return lambda run: os.killpg(run.process.pid, signum)


def kill_make(signum):
    return lambda run: os.kill(run.process.pid, signum)


def kill_runner(run):
    os.kill(run.runner_pid(), signal.SIGKILL)


@pytest.mark.parametrize("end", [kill_make_group(signal.SIGINT), kill_make(signal.SIGTERM),
                                 kill_make_group(signal.SIGHUP), kill_make(signal.SIGKILL), kill_runner],
                         ids=["ctrl-c", "sigterm-make", "sighup-terminal-closed", "sigkill-make", "sigkill-runner"])
def test_no_process_outlives_make_run(tmp_path, end):
    run, port, answers = start_tiny_stack(tmp_path, lambda procfile: make_run(tmp_path, f"RUN_PROCFILE={procfile}"))
    try:
        assert answers["worker"]["child"] in [pid for pid, _ in run.left()]
        end(run)
        assert_nothing_left(run, port, within_s=8)
        run.process.wait(timeout=5)
    finally:
        run.end()


def test_a_service_that_ignores_sigterm_is_killed_when_the_runner_is_killed(tmp_path):
    port = ports("stubborn")
    procfile = tiny_procfile(tmp_path, {"stubborn": f"--port {port['stubborn']} --ignore-sigterm --session-child"})
    run = runner(tmp_path, procfile, "--stop-timeout", "1")
    try:
        wait_for(lambda: answer(port["stubborn"]), 30, lambda: run.output())
        os.kill(run.runner_pid(), signal.SIGKILL)
        assert_nothing_left(run, port, within_s=5)
    finally:
        run.end()


def test_make_stop_stops_a_stack_started_in_the_background(tmp_path):
    # As with `nohup make run &`: SIGHUP is ignored, so closing the terminal leaves the stack running.
    run, port, _ = start_tiny_stack(
        tmp_path, lambda procfile: make_run(tmp_path, f"RUN_PROCFILE={procfile}", ignore_sighup=True))
    try:
        os.killpg(run.process.pid, signal.SIGHUP)
        wait_for(lambda: "started with pid" in run.output(), 5, "no start logged")
        assert all(answer(p) for p in port.values())
        stop = subprocess.run(["make", "--no-print-directory", "stop", f"RUN_PID_FILE={run.pid_file}"],
                              cwd=REPO, capture_output=True, text=True, timeout=30)
        assert stop.returncode == 0, stop.stderr
        assert "stopped" in stop.stdout
        assert_nothing_left(run, port, within_s=1)  # `make stop` returns once the stack is gone
        assert run.process.wait(timeout=5) == 0
        assert not run.pid_file.exists()
    finally:
        run.end()
