"""The whole system as real processes on loopback: lite models, media service, orchestrator, gateway."""

import contextlib
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .processes import free_port, run_service

SERVICES = {
    "lite": "lite_models.app:create_app",
    "media": "media_service.app:create_app",
    "orchestrator": "orchestrator.app:create_app",
    "gateway": "gateway.app:create_app",
}


@dataclass
class Stack:
    database_url: str
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)  # per service, wins over the rest
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in SERVICES})
    processes: dict = field(default_factory=dict)
    _exit: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self, name: str) -> dict[str, str]:
        common = {
            "EGRESS_ALLOW_CIDRS": "127.0.0.1/32",
            "MEDIA_DIR": str(self.workdir / "media"),
            "DATABASE_URL": self.database_url,
            "MEDIA_SERVICE_URL": self.url("media"),
            "LITE_MODELS_URL": self.url("lite") + "/v1",
            "ORCHESTRATOR_URL": self.url("orchestrator"),
            # The stack's own listeners, which fetches must never reach although loopback is open.
            "INTERNAL_ENDPOINTS": ",".join(f"127.0.0.1:{port}" for port in self.ports.values()),
            "LEASE_S": "3",
            "POLL_INTERVAL_S": "0.2",
            "RETRY_BACKOFF_S": "0.5",
            # Drills poll far faster than people do; the rate limit has tests of its own.
            "RATE_LIMIT": "0",
        }
        return {**common, **self.extra_env, **self.service_env.get(name, {})}

    def start(self, *names: str) -> None:
        for name in names or SERVICES:
            log = self.workdir / f"{name}.log"
            _, process = self._exit.enter_context(
                run_service(SERVICES[name], self.ports[name], self.env(name), log=log))
            self.processes[name] = process

    def start_named(self, name: str, service: str, env: dict[str, str] | None = None):
        """Start one more process of `service` under its own name, port and log (e.g. a second
        orchestrator on the same database); `env` wins over the service's usual environment."""
        self.ports.setdefault(name, free_port())
        environment = {**self.env(service), **self.service_env.get(name, {}), **(env or {})}
        _, process = self._exit.enter_context(
            run_service(SERVICES[service], self.ports[name], environment, log=self.workdir / f"{name}.log"))
        self.processes[name] = process
        return process

    def kill_all(self) -> None:
        """SIGKILL every service, as a crash or a power cut would."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
        self._exit.close()
        self._exit = contextlib.ExitStack()
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
                         for p in sorted(self.workdir.glob("*.log")))

    def stop(self) -> None:
        self._exit.close()


@contextlib.contextmanager
def running(stack: Stack, *names: str, start: Callable[[], object] | None = None,
            more_logs: Callable[[], str] | None = None):
    """Starts `names` of `stack` (every service when none; `start()` instead, when given), yields the stack
    and stops it when the block ends. When the block fails, the services' logs (and `more_logs()`) are
    printed first: a failure of a whole system is read from what its processes said."""
    try:
        if start is None:
            stack.start(*names)
        else:
            start()
        yield stack
    except BaseException:
        print(stack.logs())
        if more_logs is not None:
            print(more_logs())
        raise
    finally:
        stack.stop()


def running_stack(workdir: Path, *names: str, database_url: str | None = None, **settings):
    """A Stack of `names` (every service when none), on SQLite in `workdir` unless `database_url` says
    otherwise, running (see `running`) for the block."""
    stack = Stack(database_url=database_url or f"sqlite:///{workdir / 'tasks.db'}", workdir=workdir, **settings)
    return running(stack, *names)
