"""The registry of deployable vLLM model servers (vllm/registry.yaml) and where they are reached."""

from model_registry.registry import (
    ROLES,
    TIERS,
    Entry,
    Profile,
    Registry,
    RegistryError,
    base_url_of,
    deployments,
    load_registry,
    registry_path,
)

__all__ = [
    "ROLES",
    "TIERS",
    "Entry",
    "Profile",
    "Registry",
    "RegistryError",
    "base_url_of",
    "deployments",
    "load_registry",
    "registry_path",
]
