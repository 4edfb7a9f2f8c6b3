"""A real vLLM (the CPU build) as a test process: built once by scripts/vllm_cpu_env.sh, one server at a time."""

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
ENV_SCRIPT = REPO / "scripts" / "vllm_cpu_env.sh"


def build_env(timeout: float = 1500.0) -> Path:
    """Builds the venv and the tiny models if they are not cached; returns the cache directory."""
    done = subprocess.run(["bash", str(ENV_SCRIPT)], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{ENV_SCRIPT.name} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop_group(process: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM the server's whole process group (API server, engine core, workers), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; make sure no child of the group lingers.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        break


@contextmanager
def vllm_server(home: Path, model: str, served_name: str, log: Path, max_model_len: int = 8192,
                startup_timeout: float = 300.0, extra_args: tuple[str, ...] = ()):
    """Runs `vllm.entrypoints.openai.api_server` for `home/models/<model>` on a free loopback port in its own
    process group; yields the base URL ending in /v1 once /v1/models answers."""
    port = _free_port()
    cmd = [str(home / "venv" / "bin" / "python"), "-m", "vllm.entrypoints.openai.api_server",
           "--model", str(home / "models" / model), "--served-model-name", served_name,
           "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32",
           "--max-model-len", str(max_model_len), "--max-num-seqs", "8",
           # torch.compile's warm-up costs ~50 s per start on 2 cores and buys nothing for a tiny model.
           "--enforce-eager", *extra_args]
    env = {**os.environ, "VLLM_TARGET_DEVICE": "cpu", "VLLM_CPU_KVCACHE_SPACE": "1",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
           "DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1",
           "VLLM_CACHE_ROOT": str(home / "vllm-cache")}
    for leaked in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(leaked, None)
    base = f"http://127.0.0.1:{port}/v1"
    with open(log, "ab") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   cwd=home)
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"vLLM exited with {process.returncode} while starting:\n{tail(log)}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"vLLM did not answer within {startup_timeout}s:\n{tail(log)}")
                try:
                    if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            yield base
        finally:
            _stop_group(process)


def tail(log: Path, chars: int = 6000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""
