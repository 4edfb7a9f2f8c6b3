"""`python -m scripts.local_stack run PROCFILE` supervises a Procfile's services; `stop` stops a running one."""

import argparse
import os
import signal
import sys
import uuid
from pathlib import Path

from . import lifelines, pidfile
from .output import Output
from .ports import port_problems
from .procfile import ProcfileError, read_procfile
from .supervisor import Backoff, Supervisor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.local_stack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start every service of PROCFILE and keep them running")
    run.add_argument("procfile", type=Path)
    run.add_argument("--dir", type=Path, default=Path.cwd(), help="where the commands run (default: here)")
    run.add_argument("--pid-file", type=Path, help="write the runner's pid here, for `stop`")
    run.add_argument("--parent-pid", type=int, help="exit when this process (the caller, e.g. make) dies")
    run.add_argument("--stop-timeout", type=float, default=5.0,
                     help="seconds a service gets after SIGTERM before SIGKILL (default 5)")
    run.add_argument("--restart-delay", type=float, default=1.0, help="first restart delay, doubling (default 1)")
    run.add_argument("--max-restart-delay", type=float, default=30.0, help="longest restart delay (default 30)")
    run.add_argument("--stable-after", type=float, default=30.0,
                     help="a service up this long is restarted after the first delay again (default 30)")
    stop = commands.add_parser("stop", help="stop the stack whose runner PID_FILE names, and wait")
    stop.add_argument("--pid-file", type=Path, required=True)
    stop.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")
    args = parser.parse_args(argv)
    if args.command == "stop":
        return pidfile.stop(args.pid_file, args.timeout)
    try:
        return _run(args)
    except KeyboardInterrupt:  # Ctrl-C before the services started
        return 130


def _run(args: argparse.Namespace) -> int:
    # The make that started us dies (SIGKILL, a closed terminal): stop the stack as on SIGTERM.
    lifelines.die_with_parent(signal.SIGTERM, args.parent_pid or os.getppid())
    workdir = args.dir.resolve()
    try:
        services = read_procfile(args.procfile, workdir, dict(os.environ))
    except (OSError, ProcfileError) as error:
        print(f"local stack: {error}", file=sys.stderr)
        return 2
    if args.pid_file and (running := pidfile.runner_pid(args.pid_file)):
        print(f"local stack: a stack is already running (runner pid {running}, {args.pid_file}); "
              "stop it first (make stop)", file=sys.stderr)
        return 1
    if problems := port_problems(services):
        for problem in problems:
            print(f"local stack: {problem}", file=sys.stderr)
        return 1
    run_id = uuid.uuid4().hex[:12]
    lifelines.adopt_orphans()
    guardian = lifelines.start_guardian(run_id, args.stop_timeout)
    if args.pid_file:
        pidfile.write(args.pid_file)
    output = Output([service.name for service in services])
    output.system(f"runner pid {os.getpid()}; Ctrl-C, SIGTERM, SIGHUP or `make stop` stop every service")
    try:
        Supervisor(services, str(workdir), run_id, output,
                   Backoff(args.restart_delay, args.max_restart_delay, args.stable_after),
                   args.stop_timeout, guardian).run()
    finally:
        if args.pid_file:
            pidfile.remove_if_ours(args.pid_file)
    output.system("every service has stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
