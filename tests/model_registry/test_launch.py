"""The launcher's command lines, GPU shares and secrets."""

import shlex

import pytest

from model_registry import RegistryError, load_registry
from model_registry.launch import gpu_shares, main

TOKEN = "hf_verysecrettoken123"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("HUGGINGFACE_TOKEN", "HF_TOKEN", "VLLM_API_KEY", "MODEL_PROFILE", "MODEL_DEPLOYED",
                 "MODEL_REGISTRY", "GPU_MEMORY_GB", "HF_HOME"):
        monkeypatch.delenv(name, raising=False)


def dry_run(capsys, *args) -> list[str]:
    assert main([*args, "--dry-run"]) == 0
    return shlex.split(capsys.readouterr().out)


def test_vision_int4_serve_command(capsys, monkeypatch):
    monkeypatch.setenv("HUGGINGFACE_TOKEN", TOKEN)
    assert dry_run(capsys, "vision-int4") == [
        "HF_TOKEN=****", "vllm", "serve", "meta-llama/Llama-3.2-11B-Vision-Instruct",
        "--served-model-name", "llama-3.2-11b-vision-int4", "--host", "0.0.0.0", "--port", "8101",
        "--gpu-memory-utilization", "0.506", "--quantization", "bitsandbytes", "--enforce-eager",
        "--max-num-seqs", "16", "--max-model-len", "8192", "--limit-mm-per-prompt", '{"image": 1}']


def test_text_int4_serve_command_with_api_key_and_port(capsys, monkeypatch):
    monkeypatch.setenv("VLLM_API_KEY", "sk-local-key")
    assert dry_run(capsys, "llama31-text-int4", "--port", "9000", "--host", "127.0.0.1",
                   "--gpu-memory-utilization", "0.25") == [
        "vllm", "serve", "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4",
        "--served-model-name", "llama-3.1-8b-int4", "--host", "127.0.0.1", "--port", "9000",
        "--gpu-memory-utilization", "0.25", "--max-model-len", "16384", "--max-num-seqs", "32",
        "--api-key", "****"]


def test_module_form(capsys):
    argv = dry_run(capsys, "text-fp16", "--module")
    assert argv[1:5] == ["-m", "vllm.entrypoints.openai.api_server", "--model", "meta-llama/Llama-3.1-8B-Instruct"]
    assert argv[argv.index("--dtype") + 1] == "bfloat16"


def test_docker_command(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HUGGINGFACE_TOKEN", TOKEN)
    monkeypatch.setenv("VLLM_API_KEY", "sk-local-key")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert dry_run(capsys, "vision-int8", "--docker") == [
        "HF_TOKEN=****", "VLLM_API_KEY=****", "docker", "run", "--rm", "--gpus", "all", "--ipc=host",
        "--name", "vllm-llama32-vision-int8", "-p", "8102:8000", "-v", f"{tmp_path}:/root/.cache/huggingface",
        "-e", "HF_TOKEN", "-e", "VLLM_API_KEY", "vllm/vllm-openai:v0.10.2",
        "--model", "RedHatAI/Llama-3.2-11B-Vision-Instruct-FP8-dynamic",
        "--served-model-name", "llama-3.2-11b-vision-int8", "--host", "0.0.0.0", "--port", "8000",
        "--gpu-memory-utilization", "0.394", "--enforce-eager", "--max-num-seqs", "16", "--max-model-len", "8192",
        "--limit-mm-per-prompt", '{"image": 1}']


def test_secrets_never_printed(capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    for args in (["text-int4"], ["text-int4", "--docker"], ["text-int4", "--api-key", TOKEN + "x"]):
        assert main([*args, "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert TOKEN not in out and "HF_TOKEN=****" in out


@pytest.mark.parametrize("gpu_memory_gb", [80, 24])
def test_default_servers_shares_fit_one_card(gpu_memory_gb):
    registry = load_registry()
    deployed = registry.deployed()
    assert sorted(entry.key for entry in deployed) == ["speech-fp16", "text-int4", "vision-int4"]
    shares = gpu_shares(registry, deployed, gpu_memory_gb)
    assert sum(shares.values()) <= 0.95
    for entry in deployed:
        assert shares[entry.name] * gpu_memory_gb >= entry.vram_gb
    assert gpu_shares(registry, [registry.entry("text-int4")]) == {"llama31-text-int4": 0.95}
    with pytest.raises(RegistryError, match="more than 0.95 of a 23 GB GPU"):
        gpu_shares(registry, deployed, 23)


def test_whisper_serve_command(capsys):
    assert dry_run(capsys, "speech-fp16") == [
        "vllm", "serve", "openai/whisper-large-v3-turbo", "--served-model-name", "openai/whisper-large-v3-turbo",
        "--host", "0.0.0.0", "--port", "8131", "--gpu-memory-utilization", "0.105", "--dtype", "float16",
        "--max-model-len", "448", "--max-num-seqs", "16", "--limit-mm-per-prompt", '{"audio": 1}']


def test_what_does_not_fit_is_refused(capsys):
    registry = load_registry()
    with pytest.raises(RegistryError, match="need 177 GB"):
        gpu_shares(registry, [registry.entry(ref, "llama4") for ref in ("vision-int4", "vision-int8")], 141)
    assert main(["vision-int8", "--profile", "llama4", "--dry-run"]) == 2
    assert "more than 0.95 of a 80 GB GPU" in capsys.readouterr().err
    argv = dry_run(capsys, "vision-int8", "--profile", "llama4", "--gpu-memory-gb", "141", "--colocate", "vision-int8")
    assert argv[argv.index("--gpu-memory-utilization") + 1] == "0.95"


def test_list(capsys, monkeypatch):
    monkeypatch.setenv("MODEL_PROFILE", "llama4")
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "profile llama4" in out and "* llama4-scout-vision-int4" in out and "nemotron" in out
