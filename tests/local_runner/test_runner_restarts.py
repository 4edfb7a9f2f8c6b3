"""A service that dies is restarted, with backoff, and the others stay up."""

import os
import re
import signal

from .harness import answer, ports, runner, tiny_procfile, wait_for


def restart_delays(output: str, name: str) -> list[float]:
    return [float(delay) for delay in re.findall(rf"restarting {name} in ([0-9.]+) s", output)]


def test_crashing_services_are_restarted_with_doubling_delays_reset_once_they_stayed_up(tmp_path):
    port = ports("steady")
    procfile = tiny_procfile(tmp_path, {
        "steady": f"--port {port['steady']}",
        "crashing": "--exit-after 0",
        "lasting": "--exit-after 2.2",  # up longer than --stable-after: its delay never grows
    })
    run = runner(tmp_path, procfile, "--restart-delay", "0.2", "--max-restart-delay", "0.8", "--stable-after", "2")
    try:
        steady_pid = wait_for(lambda: answer(port["steady"]), 30, lambda: run.output())["pid"]
        wait_for(lambda: len(restart_delays(run.output(), "crashing")) >= 5, 30, lambda: run.output())
        assert restart_delays(run.output(), "crashing")[:5] == [0.2, 0.4, 0.8, 0.8, 0.8]
        wait_for(lambda: len(restart_delays(run.output(), "lasting")) >= 2, 30, lambda: run.output())
        assert set(restart_delays(run.output(), "lasting")) == {0.2}
        assert "crashing exited with code 3" in run.output()
        assert answer(port["steady"])["pid"] == steady_pid
        os.kill(run.runner_pid(), signal.SIGTERM)
        wait_for(lambda: not run.left(), 8, lambda: f"left: {run.left()}\n{run.output()}")
        assert run.process.wait(timeout=5) == 0
    finally:
        run.end()


def test_a_killed_service_comes_back_and_what_it_left_running_is_killed(tmp_path):
    port = ports("web", "worker")
    procfile = tiny_procfile(tmp_path, {"web": f"--port {port['web']}",
                                        "worker": f"--port {port['worker']} --session-child"})
    run = runner(tmp_path, procfile)
    try:
        web = wait_for(lambda: answer(port["web"]), 30, lambda: run.output())
        worker = wait_for(lambda: answer(port["worker"]), 30, lambda: run.output())
        os.kill(worker["pid"], signal.SIGKILL)
        again = wait_for(lambda: (a := answer(port["worker"])) and a["pid"] != worker["pid"] and a, 15,
                         lambda: run.output())
        assert worker["child"] not in [pid for pid, _ in run.left()]  # orphaned in its own session: killed
        assert again["child"] in [pid for pid, _ in run.left()]
        assert answer(port["web"])["pid"] == web["pid"]
        assert re.search(r"worker was killed by SIGKILL .*\n.*restarting worker in 1 s", run.output())
    finally:
        run.end()
