"""Turn a registry entry into the command that starts its vLLM server, and print or run it.

    python -m model_registry.launch vision-int4 --dry-run            # vllm serve … (token masked)
    python -m model_registry.launch vision-int4 --docker --dry-run   # docker run … vllm/vllm-openai:<tag> …
    python -m model_registry.launch llama31-text-int4                # execs vllm serve
    python -m model_registry.launch --list

The Hugging Face token is read from HUGGINGFACE_TOKEN (or HF_TOKEN) and handed to vLLM as HF_TOKEN,
the variable huggingface_hub reads; the API key from --api-key or VLLM_API_KEY. Neither is printed.
"""

import argparse
import math
import os
import shlex
import sys
from collections.abc import Iterable, Mapping

from model_registry.registry import Entry, Registry, RegistryError, load_registry

MASK = "****"
CONTAINER_PORT = 8000


def gpu_shares(registry: Registry, entries: Iterable[Entry], gpu_memory_gb: float | None = None) -> dict[str, float]:
    """--gpu-memory-utilization for servers sharing one GPU: each its vram_gb plus a proportional part of the rest.

    The shares sum to at most the registry's gpu_memory_headroom; raises RegistryError when the
    servers' vram_gb do not fit in that much of the card.
    """
    entries = list({entry.name: entry for entry in entries}.values())
    gpu = gpu_memory_gb or registry.gpu_memory_gb
    headroom = registry.gpu_memory_headroom
    need = sum(entry.vram_gb for entry in entries)
    names = ", ".join(f"{entry.name} ({entry.vram_gb:g} GB)" for entry in entries)
    if need > headroom * gpu:
        raise RegistryError(f"{names} need {need:g} GB, more than {headroom:g} of a {gpu:g} GB GPU; "
                            "put them on separate GPUs or deploy fewer")
    shares = {entry.name: math.floor(headroom * entry.vram_gb / need * 1000) / 1000 for entry in entries}
    for entry in entries:
        if shares[entry.name] * gpu < entry.vram_gb:
            raise RegistryError(f"{names} leave {entry.name} too little of a {gpu:g} GB GPU")
    return shares


def hf_token(environ: Mapping[str, str]) -> str | None:
    return environ.get("HUGGINGFACE_TOKEN") or environ.get("HF_TOKEN") or None


def _server_flags(entry: Entry, host: str, port: int, share: float) -> list[str]:
    return ["--served-model-name", entry.served_model_name, "--host", host, "--port", str(port),
            "--gpu-memory-utilization", f"{share:g}", *entry.flags]


def serve_argv(entry: Entry, *, host: str, port: int, share: float, api_key: str | None = None,
               module: bool = False) -> list[str]:
    """`vllm serve REPO …`, or with module=True the same through python -m vllm.entrypoints.openai.api_server."""
    head = ([sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", entry.hf_repo] if module
            else ["vllm", "serve", entry.hf_repo])
    argv = head + _server_flags(entry, host, port, share)
    return argv + ["--api-key", api_key] if api_key else argv


def docker_argv(registry: Registry, entry: Entry, *, port: int, share: float, with_token: bool,
                with_api_key: bool, hf_cache: str) -> list[str]:
    """`docker run` of the entry's vLLM image; the token and API key pass by name from the environment."""
    argv = ["docker", "run", "--rm", "--gpus", "all", "--ipc=host", "--name", f"vllm-{entry.name}",
            "-p", f"{port}:{CONTAINER_PORT}", "-v", f"{hf_cache}:/root/.cache/huggingface"]
    if with_token:
        argv += ["-e", "HF_TOKEN"]
    if with_api_key:
        argv += ["-e", "VLLM_API_KEY"]  # vLLM's server reads its API key from this variable
    argv += [registry.image_of(entry), "--model", entry.hf_repo]
    return argv + _server_flags(entry, "0.0.0.0", CONTAINER_PORT, share)


def render(argv: list[str], env: Mapping[str, str], secrets: Iterable[str]) -> str:
    """The command line as a shell would take it, with the variables it sets and every secret masked."""
    hidden = {secret for secret in secrets if secret}
    shown = [MASK if arg in hidden else arg for arg in argv]
    prefix = "".join(f"{name}={MASK} " for name in env)
    return prefix + shlex.join(shown)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model_registry.launch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("entry", nargs="?", help="entry name, or role-tier (e.g. vision-int4) in the profile")
    parser.add_argument("--profile", default=os.environ.get("MODEL_PROFILE") or None,
                        help="registry profile (default: $MODEL_PROFILE, else the registry's default_profile)")
    parser.add_argument("--registry", default=None,
                        help="registry file (default: $MODEL_REGISTRY, else vllm/registry.yaml)")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    parser.add_argument("--docker", action="store_true", help="a docker run of the entry's vllm/vllm-openai image")
    parser.add_argument("--module", action="store_true",
                        help="python -m vllm.entrypoints.openai.api_server instead of the vllm console script")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=None, help="default: the entry's port in the registry")
    parser.add_argument("--gpu-memory-utilization", type=float, default=None,
                        help="default: the entry's share of the GPU next to the servers it shares it with")
    parser.add_argument("--gpu-memory-gb", type=float, default=_env_float("GPU_MEMORY_GB"),
                        help="memory of the GPU the servers share (default: $GPU_MEMORY_GB, else the registry's)")
    parser.add_argument("--colocate", default=None,
                        help="comma-separated entries sharing the GPU (default: the deployed ones, $MODEL_DEPLOYED)")
    parser.add_argument("--api-key", default=os.environ.get("VLLM_API_KEY") or None,
                        help="key clients must present (default: $VLLM_API_KEY)")
    parser.add_argument("--list", action="store_true", help="list the profile's entries and exit")
    return parser


def _env_float(name: str) -> float | None:
    value = os.environ.get(name)
    return float(value) if value else None


def _csv(value: str | None) -> list[str] | None:
    return [item.strip() for item in value.split(",") if item.strip()] if value else None


def _list(registry: Registry, profile: str) -> str:
    rows = []
    for entry in registry.entries_of(profile):
        mark = "*" if entry.deployed else " "
        rows.append(f"{mark} {entry.name:32} {entry.key:12} {entry.vram_gb:>5g} GB  :{entry.port}  "
                    f"{entry.hf_repo}  ({registry.image_of(entry)})")
    return f"profile {profile} (* deployed by default)\n" + "\n".join(rows)


def build(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[list[str], dict[str, str], Registry]:
    """The argv to run and the variables to add to its environment."""
    registry = load_registry(args.registry)
    profile = args.profile or registry.default_profile
    entry = registry.entry(args.entry, profile)
    share = args.gpu_memory_utilization
    if share is None:
        together = registry.deployed(profile, _csv(args.colocate) or _csv(environ.get("MODEL_DEPLOYED")))
        share = gpu_shares(registry, [*together, entry], args.gpu_memory_gb)[entry.name]
    port = args.port or entry.port
    token = hf_token(environ)
    env = {"HF_TOKEN": token} if token else {}
    if args.docker:
        if args.api_key:
            env["VLLM_API_KEY"] = args.api_key
        hf_cache = environ.get("HF_HOME") or os.path.expanduser("~/.cache/huggingface")
        argv = docker_argv(registry, entry, port=port, share=share, with_token=bool(token),
                           with_api_key=bool(args.api_key), hf_cache=hf_cache)
    else:
        argv = serve_argv(entry, host=args.host, port=port, share=share, api_key=args.api_key, module=args.module)
    return argv, env, registry


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.list:
            registry = load_registry(args.registry)
            print(_list(registry, args.profile or registry.default_profile))
            return 0
        if not args.entry:
            _parser().error("name an entry (or --list)")
        command, env, _ = build(args, os.environ)
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(render(command, env, [args.api_key, env.get("HF_TOKEN", "")]))
        return 0
    try:
        os.execvpe(command[0], command, {**os.environ, **env})
    except FileNotFoundError:
        print(f"error: {command[0]} is not on PATH (install vLLM, or use --docker / --module)", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
