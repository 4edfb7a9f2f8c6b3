"""The deployed model endpoints, resolved once from the settings when the service is built.

MODEL_ENDPOINTS names them; else MODEL_BACKEND=vllm reads the model registry (the file is read here, once);
else every tier of both roles is the lite server.
"""

from collections.abc import Iterator, Mapping

import model_registry
from service_common.contracts import QUANTIZATION_TIERS

from .config import ModelEndpoint, OrchestratorSettings


class Deployments(Mapping[str, dict[str, ModelEndpoint]]):
    """role -> tier -> endpoint; `speech` is where speech is turned into text (None: nowhere)."""

    def __init__(self, endpoints: dict[str, dict[str, ModelEndpoint]], speech: ModelEndpoint | None = None):
        self._endpoints = endpoints
        self.speech = speech

    @classmethod
    def from_settings(cls, settings: OrchestratorSettings) -> "Deployments":
        endpoints = _endpoints(settings)
        return cls(endpoints, _speech_endpoint(settings, endpoints))

    def __getitem__(self, role: str) -> dict[str, ModelEndpoint]:
        return self._endpoints[role]

    def __iter__(self) -> Iterator[str]:
        return iter(self._endpoints)

    def __len__(self) -> int:
        return len(self._endpoints)

    def tiers(self, role: str) -> dict[str, ModelEndpoint]:
        """The role's deployed tiers ({} when none is)."""
        return self._endpoints.get(role, {})

    def endpoint(self, role: str, tier: str | None) -> ModelEndpoint | None:
        """The endpoint serving the role at that tier, if it is deployed."""
        return self.tiers(role).get(tier or "")


def _endpoints(settings: OrchestratorSettings) -> dict[str, dict[str, ModelEndpoint]]:
    if settings.model_endpoints is not None:
        return settings.model_endpoints
    if settings.model_backend == "vllm":
        return _registry_endpoints(settings)
    lite = {role: ModelEndpoint(base_url=settings.lite_models_url, model=f"lite-{role}")
            for role in ("vision", "text")}
    return {role: dict.fromkeys(QUANTIZATION_TIERS, endpoint) for role, endpoint in lite.items()}


def _registry_endpoints(settings: OrchestratorSettings) -> dict[str, dict[str, ModelEndpoint]]:
    registry = model_registry.load_registry(str(model_registry.registry_path(settings.model_registry)))
    found = model_registry.deployments(
        registry, settings.model_profile, tuple(settings.model_deployed) if settings.model_deployed else None,
        settings.model_base_urls, host=settings.model_host, api_key=settings.vllm_api_key,
        gpu_name=settings.model_gpu_name)
    return {role: {tier: ModelEndpoint(**endpoint) for tier, endpoint in tiers.items()}
            for role, tiers in found.items()}


def _speech_endpoint(settings: OrchestratorSettings,
                     endpoints: dict[str, dict[str, ModelEndpoint]]) -> ModelEndpoint | None:
    """SPEECH_TO_TEXT, else the deployments' `speech` role, else the lite server when it serves the other
    roles too; None: no speech-to-text."""
    if settings.speech_to_text is not None:
        return settings.speech_to_text
    deployed = endpoints.get("speech") or {}
    if deployed:
        return next(iter(deployed.values()))
    if settings.model_endpoints is None and settings.model_backend == "lite":
        return ModelEndpoint(base_url=settings.lite_models_url, model=settings.speech_model_name)
    return None
