"""The deployed models, seen from the gateway: which server serves each model name (from the
orchestrator's deployments), and chat completions sent straight to that server."""

import time

import httpx

from service_common.http import bearer_auth

from .orchestrator import OrchestratorClient

ROUTES_TTL_S = 10.0

Routes = dict[str, dict]
"""Served model name -> its endpoint (base_url, model, api_key, gpu_name) with the `roles` and `tiers` it serves."""


def routes_from(deployments: dict[str, dict[str, dict]]) -> Routes:
    """One entry per served model name, however many roles and tiers share it."""
    routes: Routes = {}
    for role, tiers in deployments.items():
        for tier, endpoint in tiers.items():
            entry = routes.setdefault(endpoint["model"], {**endpoint, "roles": [], "tiers": []})
            entry["roles"] = sorted({*entry["roles"], role})
            entry["tiers"] = sorted({*entry["tiers"], tier})
    return routes


class RouteCache:
    """The routes as last read, for a few seconds: one per app, so its requests share them."""

    def __init__(self, ttl_s: float = ROUTES_TTL_S):
        self._ttl_s = ttl_s
        self._routes: Routes | None = None
        self._expires_at = 0.0

    async def current(self, orchestrator: OrchestratorClient) -> Routes:
        if self._routes is not None and self._expires_at > time.monotonic():
            return self._routes
        routes = routes_from(await orchestrator.deployments())
        self._routes, self._expires_at = routes, time.monotonic() + self._ttl_s
        return routes


class ModelsClient:
    """The deployed models for one request: their routes, and the servers behind them."""

    def __init__(self, http: httpx.AsyncClient, cache: RouteCache, orchestrator: OrchestratorClient):
        self._http, self._cache, self._orchestrator = http, cache, orchestrator

    async def routes(self) -> Routes:
        return await self._cache.current(self._orchestrator)

    async def open_chat_completion(self, endpoint: dict, body: bytes) -> httpx.Response:
        """The model server's answer to the request body as it came, its content still to be read (and the
        response closed) by the caller; httpx.HTTPError when the server cannot be reached."""
        upstream = self._http.build_request(
            "POST", endpoint["base_url"].rstrip("/") + "/chat/completions", content=body,
            headers={"content-type": "application/json", **bearer_auth(endpoint.get("api_key"))})
        return await self._http.send(upstream, stream=True)
