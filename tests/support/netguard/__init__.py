"""The test-only network safety net (sitecustomize.py in this folder) and how to turn it on for a
process: put this folder first on its PYTHONPATH and name a breach log."""

import os
from pathlib import Path

NETGUARD_DIR = Path(__file__).resolve().parent


def netguard_env(breach_log: Path, fake_dns: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a process (and the processes it starts) that must send nothing off loopback."""
    breach_log.touch()
    path = [str(NETGUARD_DIR), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {"PYTHONPATH": os.pathsep.join(path), "NETGUARD_BREACH_LOG": str(breach_log)}
    if fake_dns:
        env["NETGUARD_FAKE_DNS"] = ",".join(f"{name}={address}" for name, address in fake_dns.items())
    return env


def breaches(breach_log: Path) -> list[str]:
    """The connections the product let through to a non-loopback destination (none, if it works)."""
    return breach_log.read_text(encoding="utf-8").splitlines() if breach_log.exists() else []


def guarded_pids(breach_log: Path) -> set[int]:
    """The processes that started with the net on."""
    loaded = Path(f"{breach_log}.loaded")
    return {int(line) for line in loaded.read_text().split()} if loaded.exists() else set()
