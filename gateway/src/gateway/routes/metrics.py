"""`GET /metrics`: the gateway's Prometheus metrics (not in the public API's schema).

Open on a gateway without API keys (loopback development); with keys, it asks for METRICS_TOKEN as
`Authorization: Bearer`, and without a METRICS_TOKEN it is not there at all (404). A METRICS_TOKEN set on a
gateway without keys is asked for too: whoever set it meant it.
"""

import hmac

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.security.utils import get_authorization_scheme_param

from service_common.metrics import exposition

from ..deps import Keys, Settings
from ..security import ApiRefusal

router = APIRouter(include_in_schema=False)


def _same(presented: str, token: str) -> bool:
    return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), token.encode("utf-8", "surrogateescape"))


@router.get("/metrics")
async def metrics(request: Request, settings: Settings, api_keys: Keys) -> Response:
    token = settings.metrics_token
    if token is None:
        if api_keys.enabled:
            raise HTTPException(404, "Not Found")
    else:
        scheme, presented = get_authorization_scheme_param(request.headers.get("authorization"))
        if scheme.lower() != "bearer" or not _same(presented, token):
            raise ApiRefusal(401, "the metrics need 'Authorization: Bearer <METRICS_TOKEN>'", "invalid_metrics_token",
                             {"WWW-Authenticate": "Bearer"})
    return await exposition()
