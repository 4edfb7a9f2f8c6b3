"""The real `make run`: the four services on free ports, one killed and brought back, then Ctrl-C."""

import os
import signal
import socket
import time

import httpx

from .harness import environment_of, make_run, port_is_free, ports, wait_for

APPS = {"lite-models": "lite_models.app", "media-service": "media_service.app",
        "orchestrator": "orchestrator.app", "gateway": "gateway.app"}


def stack_environment(tmp_path, port):
    return {
        "LITE_MODELS_PORT": str(port["lite-models"]), "MEDIA_SERVICE_PORT": str(port["media-service"]),
        "ORCHESTRATOR_PORT": str(port["orchestrator"]),
        "LITE_MODELS_URL": f"http://127.0.0.1:{port['lite-models']}/v1",
        "MEDIA_SERVICE_URL": f"http://127.0.0.1:{port['media-service']}",
        "ORCHESTRATOR_URL": f"http://127.0.0.1:{port['orchestrator']}",
        "MEDIA_DIR": str(tmp_path / "media"), "DATABASE_URL": f"sqlite:///{tmp_path / 'tasks.db'}",
    }


def service_pids(run) -> dict[str, int]:
    found = {}
    for pid, command in run.left():
        for name, app in APPS.items():
            if f"{app}:create_app" in command:
                found[name] = pid
    return found


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_make_run_restarts_a_killed_service_and_ctrl_c_stops_everything(tmp_path):
    port = ports(*APPS)
    run = make_run(tmp_path, f"PORT={port['gateway']}", env=stack_environment(tmp_path, port))
    try:
        wait_for(lambda: all(healthy(port[name]) for name in APPS), 120, lambda: run.output(), interval_s=0.5)
        pids = service_pids(run)
        assert set(pids) == set(APPS)
        # PORT is the gateway's setting, and it is the port the gateway listens on; no other service gets one.
        assert environment_of(pids["gateway"])["PORT"] == str(port["gateway"])
        assert all("PORT" not in environment_of(pids[name]) for name in APPS if name != "gateway")

        os.kill(pids["media-service"], signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for(lambda: service_pids(run).get("media-service", pids["media-service"]) != pids["media-service"]
                 and healthy(port["media-service"]), 60, lambda: run.output(), interval_s=0.2)
        back_after_s = time.monotonic() - killed_at
        now = service_pids(run)
        assert {name: now[name] for name in APPS if name != "media-service"} == \
               {name: pids[name] for name in APPS if name != "media-service"}
        assert all(healthy(port[name]) for name in APPS)
        print(f"media-service answered again {back_after_s:.1f} s after its SIGKILL")

        os.killpg(run.process.pid, signal.SIGINT)
        stopped_at = time.monotonic()
        wait_for(lambda: not run.left(), 10, lambda: f"left: {run.left()}\n{run.output()}")
        print(f"every process gone {time.monotonic() - stopped_at:.1f} s after Ctrl-C")
        assert all(port_is_free(p) for p in port.values())
        run.process.wait(timeout=5)
    finally:
        run.end()


def test_make_run_names_a_taken_port_and_its_holder_and_exits_at_once(tmp_path):
    port = ports(*APPS)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port["orchestrator"]))
        holder.listen()
        started = time.monotonic()
        run = make_run(tmp_path, f"PORT={port['gateway']}", env=stack_environment(tmp_path, port))
        try:
            code = run.process.wait(timeout=20)
            took_s = time.monotonic() - started
            output = run.output()
            assert code != 0
            assert f"port {port['orchestrator']} (orchestrator, 127.0.0.1) is already in use by pid {os.getpid()}" \
                in output
            assert "ORCHESTRATOR_PORT" in output
            assert took_s < 10
            assert not run.left()
        finally:
            run.end()
