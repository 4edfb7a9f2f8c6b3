"""The registry file: every deployable model server, and where the deployed ones are reached."""

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["vision", "text", "speech"]
Tier = Literal["int4", "int8", "fp16"]
# The chat roles: each profile covers every tier of them, and the orchestrator picks a tier per task.
ROLES: tuple[str, ...] = ("vision", "text")
# Speech-to-text (/v1/audio/transcriptions): one server per profile, whatever the task's tier.
SPEECH_ROLE = "speech"
TIERS: tuple[str, ...] = ("int4", "int8", "fp16")

# A checkout reads vllm/registry.yaml; an installed wheel carries a copy next to this module.
_CHECKOUT_REGISTRY = Path(__file__).resolve().parents[2] / "registry.yaml"
_PACKAGED_REGISTRY = Path(__file__).resolve().parent / "registry.yaml"


class RegistryError(ValueError):
    """The registry, or what was asked of it, does not make sense."""


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""


class Entry(BaseModel):
    """One vLLM process serving one (role, tier) of one or more profiles."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    profiles: list[str] = Field(min_length=1)
    role: Role
    tier: Tier
    deployed: bool = False  # started by default in each of its profiles
    served_model_name: str
    hf_repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    image: str  # a key of Registry.images
    port: int = Field(ge=1, le=65535)  # where the launcher binds it, and where it is reached by default
    flags: list[str] = []
    vram_gb: float = Field(gt=0)
    vram_note: str = ""

    @property
    def key(self) -> str:
        return f"{self.role}-{self.tier}"

    def flag_value(self, flag: str) -> str | None:
        """The value given to `flag` (e.g. --max-model-len) in flags, or None."""
        for i, item in enumerate(self.flags):
            if item == flag and i + 1 < len(self.flags):
                return self.flags[i + 1]
            if item.startswith(flag + "="):
                return item.split("=", 1)[1]
        return None

    @property
    def max_model_len(self) -> int | None:
        value = self.flag_value("--max-model-len")
        return int(value) if value is not None else None


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    default_profile: str
    gpu_memory_gb: float = Field(gt=0)
    gpu_memory_headroom: float = Field(gt=0, le=1)
    images: dict[str, str]
    profiles: dict[str, Profile]
    entries: list[Entry]

    @model_validator(mode="after")
    def _consistent(self) -> "Registry":
        if self.default_profile not in self.profiles:
            raise ValueError(f"default_profile {self.default_profile!r} is not a profile")
        names = [entry.name for entry in self.entries]
        if len(names) != len(set(names)):
            raise ValueError("entry names must be unique")
        for entry in self.entries:
            if entry.image not in self.images:
                raise ValueError(f"{entry.name}: image {entry.image!r} is not in images")
            unknown = set(entry.profiles) - set(self.profiles)
            if unknown:
                raise ValueError(f"{entry.name}: unknown profiles {sorted(unknown)}")
        for profile in self.profiles:
            chosen = self.entries_of(profile)
            keys = [entry.key for entry in chosen]
            if len(keys) != len(set(keys)):
                raise ValueError(f"profile {profile}: more than one entry for one (role, tier)")
            ports = [entry.port for entry in chosen]
            if len(ports) != len(set(ports)):
                raise ValueError(f"profile {profile}: two entries on one port")
            if sum(entry.role == SPEECH_ROLE for entry in chosen) > 1:
                raise ValueError(f"profile {profile}: more than one speech entry")
        return self

    def entries_of(self, profile: str) -> list[Entry]:
        if profile not in self.profiles:
            raise RegistryError(f"unknown model profile {profile!r}; profiles: {', '.join(self.profiles)}")
        return [entry for entry in self.entries if profile in entry.profiles]

    def entry(self, ref: str, profile: str | None = None) -> Entry:
        """An entry by its name, or by `role-tier` (e.g. vision-int4) within a profile."""
        for entry in self.entries:
            if entry.name == ref:
                return entry
        for entry in self.entries_of(profile or self.default_profile):
            if entry.key == ref:
                return entry
        raise RegistryError(f"no registry entry {ref!r} (a name, or role-tier such as vision-int4)")

    def image_of(self, entry: Entry) -> str:
        return self.images[entry.image]

    def deployed(self, profile: str | None = None, chosen: Iterable[str] | None = None) -> list[Entry]:
        """The deployed entries of a profile: those named in `chosen` (names or role-tier), else the defaults."""
        profile = profile or self.default_profile
        entries = self.entries_of(profile)
        if chosen is None:
            return [entry for entry in entries if entry.deployed]
        wanted = [self.entry(ref, profile) for ref in chosen]
        for entry in wanted:
            if entry not in entries:
                raise RegistryError(f"entry {entry.name} is not in profile {profile}")
        return [entry for entry in entries if entry in wanted]


def registry_path(path: str | os.PathLike | None = None) -> Path:
    """The given path, else $MODEL_REGISTRY, else the repository's vllm/registry.yaml."""
    given = path or os.environ.get("MODEL_REGISTRY")
    if given:
        return Path(given)
    return _CHECKOUT_REGISTRY if _CHECKOUT_REGISTRY.exists() else _PACKAGED_REGISTRY


def load_registry(path: str | os.PathLike | None = None) -> Registry:
    source = registry_path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RegistryError(f"cannot read the model registry {source}: {exc}") from exc
    return Registry.model_validate(data)


def base_url_of(entry: Entry, base_urls: Mapping[str, str] | None = None, host: str = "127.0.0.1") -> str:
    """Where an entry's server is reached: base_urls by entry name or role-tier, else host:port."""
    base_urls = base_urls or {}
    url = base_urls.get(entry.name) or base_urls.get(entry.key)
    return url.rstrip("/") if url else f"http://{host}:{entry.port}/v1"


def deployments(
    registry: Registry,
    profile: str | None = None,
    deployed_tiers: Iterable[str] | None = None,
    base_urls: Mapping[str, str] | None = None,
    *,
    host: str = "127.0.0.1",
    api_key: str | None = None,
    gpu_name: str | None = None,
) -> dict[str, dict[str, dict]]:
    """role -> tier -> {base_url, model, api_key, gpu_name} for the deployed chat entries of a profile."""
    result: dict[str, dict[str, dict]] = {}
    for entry in registry.deployed(profile, deployed_tiers):
        if entry.role not in ROLES:
            continue
        result.setdefault(entry.role, {})[entry.tier] = {
            "base_url": base_url_of(entry, base_urls, host),
            "model": entry.served_model_name,
            "api_key": api_key,
            "gpu_name": gpu_name,
        }
    return result


def speech_deployment(
    registry: Registry,
    profile: str | None = None,
    deployed: Iterable[str] | None = None,
    base_urls: Mapping[str, str] | None = None,
    *,
    host: str = "127.0.0.1",
    api_key: str | None = None,
) -> dict | None:
    """{base_url, model, api_key} of the profile's deployed speech server (the shape of the orchestrator's
    SPEECH_TO_TEXT), or None when none is deployed."""
    for entry in registry.deployed(profile, deployed):
        if entry.role == SPEECH_ROLE:
            return {"base_url": base_url_of(entry, base_urls, host), "model": entry.served_model_name,
                    "api_key": api_key}
    return None
