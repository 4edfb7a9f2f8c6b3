"""The registry of deployable vLLM model servers (vllm/registry.yaml) and where they are reached."""

from model_registry.registry import (
    ROLES,
    SPEECH_ROLE,
    TIERS,
    Entry,
    Profile,
    Registry,
    RegistryError,
    base_url_of,
    deployments,
    load_registry,
    registry_path,
    speech_deployment,
)

__all__ = [
    "ROLES",
    "SPEECH_ROLE",
    "TIERS",
    "Entry",
    "Profile",
    "Registry",
    "RegistryError",
    "base_url_of",
    "deployments",
    "load_registry",
    "registry_path",
    "speech_deployment",
]
