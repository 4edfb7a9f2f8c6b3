"""Health of the database and of each deployed model endpoint, GPU facts included."""

import asyncio
from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service_common.contracts import EndpointHealth
from service_common.errors import ServiceError

from .clients.models import ModelClient
from .config import ModelEndpoint


def database_ok(sessions: sessionmaker[Session]) -> bool:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def probe_endpoint(models: ModelClient, role: str, tier: str, endpoint: ModelEndpoint) -> EndpointHealth:
    """Ask the endpoint for its models; GPU facts come from the model card's `device` when it has one
    (the lite server says it has no GPU) or from the operator's `gpu_name` for the endpoint."""
    health = EndpointHealth(role=role, tier=tier, base_url=endpoint.base_url, model=endpoint.model,
                            reachable=False)
    try:
        card = await models.model_card(endpoint)
    except ServiceError as exc:
        health.detail = exc.message
        return health
    if card is None:
        health.detail = f"model {endpoint.model!r} is not served there"
        return health
    health.reachable = True
    device = card.get("device")
    if isinstance(device, dict):
        health.gpu_available = bool(device.get("gpu_available"))
        health.gpu_name = device.get("gpu_name") if health.gpu_available else None
    elif endpoint.gpu_name:
        health.gpu_available, health.gpu_name = True, endpoint.gpu_name
    return health


async def probe_endpoints(
    models: ModelClient, deployments: Mapping[str, dict[str, ModelEndpoint]]
) -> list[EndpointHealth]:
    """One probe per distinct server and model, however many tiers share it."""
    listed = [(role, tier, endpoint) for role, tiers in deployments.items() for tier, endpoint in tiers.items()]
    distinct = {endpoint.model_dump_json(): endpoint for _, _, endpoint in listed}
    probed = await asyncio.gather(*(probe_endpoint(models, "vision", "", e) for e in distinct.values()))
    by_endpoint = dict(zip(distinct, probed, strict=True))
    return [by_endpoint[endpoint.model_dump_json()].model_copy(update={"role": role, "tier": tier})
            for role, tier, endpoint in listed]
