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


class PostgresCluster:
    """A cluster in `root`, on `port`, that a test may stop and start again (an outage)."""

    def __init__(self, root: str, port: int):
        self.root, self.port = root, port
        self.data = os.path.join(root, "data")
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200"
        subprocess.run(
            _as_postgres(["pg_ctl", "-D", self.data, "-o", options, "-l", os.path.join(self.root, "log"), "-w",
                          "start"]),
            check=True, stdout=subprocess.DEVNULL, timeout=120,
        )

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` drops every connection at once, as a crash would."""
        subprocess.run(_as_postgres(["pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


@contextmanager
def postgres_cluster():
    """Yields a fresh, running PostgresCluster listening on 127.0.0.1 only; removes it on exit."""
    root = tempfile.mkdtemp(prefix="pgtest-")
    os.chmod(root, 0o777)
    cluster = PostgresCluster(root, free_port())
    subprocess.run(
        _as_postgres(["initdb", "-D", cluster.data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]),
        check=True, stdout=subprocess.DEVNULL, timeout=120,
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def throwaway_postgres():
    """Yields (postgresql:// URL, data dir) of a fresh cluster listening on 127.0.0.1 only."""
    with postgres_cluster() as cluster:
        yield cluster.url, cluster.data
