"""The registry file: it validates, covers every tier of each profile, and respects vLLM's limits."""

import pytest
import yaml

from model_registry import (
    ROLES,
    SPEECH_ROLE,
    TIERS,
    RegistryError,
    deployments,
    load_registry,
    registry_path,
    speech_deployment,
)


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def test_the_repository_registry_is_the_default_and_validates(registry, monkeypatch):
    assert registry_path().parts[-2:] == ("vllm", "registry.yaml")
    assert registry.default_profile == "llama32" and {"llama32", "llama4"} <= set(registry.profiles)


def test_model_registry_env_points_elsewhere(tmp_path, monkeypatch):
    data = yaml.safe_load(registry_path().read_text())
    data["default_profile"] = "llama4"
    other = tmp_path / "registry.yaml"
    other.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("MODEL_REGISTRY", str(other))
    assert load_registry().default_profile == "llama4"


@pytest.mark.parametrize("profile", ["llama32", "llama4"])
def test_every_role_and_tier_of_each_profile_exists_once(registry, profile):
    keys = sorted((entry.role, entry.tier) for entry in registry.entries_of(profile) if entry.role != SPEECH_ROLE)
    assert keys == sorted((role, tier) for role in ROLES for tier in TIERS)


def test_the_default_deployment_is_the_int4_pair_and_whisper(registry):
    deployed = registry.deployed()
    assert sorted(entry.key for entry in deployed) == ["speech-fp16", "text-int4", "vision-int4"]
    assert [entry.hf_repo for entry in deployed] == [
        "meta-llama/Llama-3.2-11B-Vision-Instruct", "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4",
        "openai/whisper-large-v3-turbo"]


@pytest.mark.parametrize("profile", ["llama32", "llama4"])
def test_each_profile_deploys_one_whisper_on_a_current_vllm(registry, profile):
    [speech] = [entry for entry in registry.entries_of(profile) if entry.role == SPEECH_ROLE]
    assert speech.deployed and speech.hf_repo == "openai/whisper-large-v3-turbo"
    # The current release, with the audio extras the upstream image lacks (vllm/audio.Dockerfile).
    current = registry.images["current"]
    assert registry.image_of(speech).rsplit(":", 1)[1] == current.rsplit(":", 1)[1]
    dockerfile = (registry_path().parent / "audio.Dockerfile").read_text()
    version = current.rsplit(":v", 1)[1]
    assert f"ARG VLLM_VERSION={version}\n" in dockerfile and "FROM vllm/vllm-openai:v${VLLM_VERSION}\n" in dockerfile
    assert '"vllm[audio]==${VLLM_VERSION}"' in dockerfile
    # Whisper's decoder has 448 positions; vLLM refuses a longer --max-model-len for it.
    assert speech.max_model_len == 448
    assert speech.flag_value("--limit-mm-per-prompt") == '{"audio": 1}'


def test_speech_is_resolved_apart_from_the_chat_roles(registry):
    assert set(deployments(registry)) == {"vision", "text"}
    assert speech_deployment(registry, None, None, {"speech-fp16": "http://whisper:8000/v1/"}, api_key="k") == {
        "base_url": "http://whisper:8000/v1", "model": "openai/whisper-large-v3-turbo", "api_key": "k"}
    assert speech_deployment(registry, "llama4", None, host="gpu-box")["base_url"] == "http://gpu-box:8131/v1"
    assert speech_deployment(registry, None, ["vision-int4", "text-int4"]) is None


def test_mllama_entries_run_on_v0_10_2_with_its_limits(registry):
    mllama = [entry for entry in registry.entries if "Llama-3.2-11B-Vision" in entry.hf_repo]
    assert len(mllama) == 3
    for entry in mllama:
        assert registry.image_of(entry) == "vllm/vllm-openai:v0.10.2"
        assert "--enforce-eager" in entry.flags
        assert entry.flag_value("--max-num-seqs") == "16"
        assert entry.max_model_len is not None and entry.max_model_len <= 8192


def test_other_entries_run_on_a_current_vllm(registry):
    for entry in registry.entries:
        if "Llama-3.2-11B-Vision" not in entry.hf_repo:
            tag = registry.image_of(entry).rsplit(":v", 1)[1]
            assert tuple(int(part) for part in tag.split(".")[:2]) >= (0, 11), entry.name


def test_checkpoints_that_declare_their_quantization_get_no_quantization_flag(registry):
    assert registry.entry("text-int4").hf_repo == "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4"
    for ref in ("text-int4", "text-int8", "vision-int8"):
        assert "--quantization" not in registry.entry(ref).flags
    vision_int4 = registry.entry("vision-int4")
    assert vision_int4.flag_value("--quantization") == "bitsandbytes"
    assert vision_int4.hf_repo == "meta-llama/Llama-3.2-11B-Vision-Instruct"
    assert registry.entry("text-fp16").flag_value("--dtype") == "bfloat16"


def test_role_tier_resolves_within_the_profile(registry):
    assert registry.entry("vision-int4").name == "llama32-vision-int4"
    assert registry.entry("vision-int4", "llama4").hf_repo.startswith("RedHatAI/Llama-4-Scout")
    assert registry.entry("vision-fp16", "llama4").hf_repo == "nvidia/Llama-3.1-Nemotron-Nano-VL-8B-V1"
    with pytest.raises(RegistryError):
        registry.entry("vision-int2")
    with pytest.raises(RegistryError):
        registry.entries_of("nope")


def test_deployments_default_urls_and_overrides(registry):
    found = deployments(registry, None, None, {"vision-int4": "http://vllm-vision:8000/v1/"},
                        api_key="k", gpu_name="NVIDIA H100 80GB HBM3")
    assert found == {
        "vision": {"int4": {"base_url": "http://vllm-vision:8000/v1", "model": "llama-3.2-11b-vision-int4",
                            "api_key": "k", "gpu_name": "NVIDIA H100 80GB HBM3"}},
        "text": {"int4": {"base_url": "http://127.0.0.1:8111/v1", "model": "llama-3.1-8b-int4",
                          "api_key": "k", "gpu_name": "NVIDIA H100 80GB HBM3"}},
    }
    chosen = deployments(registry, "llama4", ["vision-fp16", "llama31-text-int8"], {"llama31-text-int8": "http://t/v1"})
    assert chosen["vision"]["fp16"]["model"] == "llama-3.1-nemotron-nano-vl-8b"
    assert chosen["text"] == {"int8": {"base_url": "http://t/v1", "model": "llama-3.1-8b-int8",
                                       "api_key": None, "gpu_name": None}}
    with pytest.raises(RegistryError, match="not in profile"):
        deployments(registry, "llama4", ["llama32-vision-int4"], {})


def test_inconsistent_registries_are_refused(tmp_path):
    data = yaml.safe_load(registry_path().read_text())
    data["entries"].append(dict(data["entries"][0], name="another-vision-int4"))
    bad = tmp_path / "registry.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="more than one entry"):
        load_registry(bad)
    data = yaml.safe_load(registry_path().read_text())
    whisper = next(entry for entry in data["entries"] if entry["role"] == "speech")
    data["entries"].append(dict(whisper, name="another-whisper", tier="int8", port=8132))
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="more than one speech entry"):
        load_registry(bad)
