"""A throwaway PostgreSQL cluster in a temp dir, run as the `postgres` user when we are root."""

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager

from .processes import free_port


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--", *cmd] if runuser else ["su", "postgres", "-c", " ".join(cmd)]


@contextmanager
def throwaway_postgres():
    """Yields a postgresql:// URL of a fresh cluster listening on 127.0.0.1 only."""
    root = tempfile.mkdtemp(prefix="pgtest-")
    os.chmod(root, 0o777)
    data = os.path.join(root, "data")
    port = free_port()
    subprocess.run(
        _as_postgres(["initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]),
        check=True, stdout=subprocess.DEVNULL, timeout=120,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200"
    subprocess.run(
        _as_postgres(["pg_ctl", "-D", data, "-o", options, "-l", os.path.join(root, "log"), "-w", "start"]),
        check=True, stdout=subprocess.DEVNULL, timeout=120,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", data
    finally:
        subprocess.run(_as_postgres(["pg_ctl", "-D", data, "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
