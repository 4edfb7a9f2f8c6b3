"""Sending a webhook: one signed POST to an address a user named, through the egress policy that media
fetches obey (service_common.egress), applied when the connection is made.

The host is resolved here and every address it has must pass; the connection then goes to the address
that was checked (the TLS name is still the host's), so a name that resolves elsewhere a moment later
cannot steer it. Redirects are not followed, and at most MAX_ANSWER_BYTES of the answer are read.
"""

import asyncio
import socket
from dataclasses import dataclass
from datetime import datetime

import httpcore
from standardwebhooks.webhooks import Webhook

from service_common.egress import Endpoints, address_refusal, is_ip, parse_cidrs

from ..config import OrchestratorSettings

MAX_ANSWER_BYTES = 4096


class DestinationRefused(httpcore.ConnectError):
    """The receiver's address is not one the service may connect to."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own network backend, behind the egress policy."""

    def __init__(self, settings: OrchestratorSettings):
        self._networks = parse_cidrs(settings.egress_allow_cidrs)
        self._internal = Endpoints.resolve(settings.refused_endpoints)
        self._opened = Endpoints.resolve(settings.egress_allow_endpoints)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options=None) -> httpcore.AsyncNetworkStream:
        if is_ip(host):
            addresses = [host]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
            addresses = sorted({info[4][0] for info in infos})
        for address in addresses:
            reason = address_refusal(address, port, self._networks, self._internal, self._opened)
            if reason:
                raise DestinationRefused(reason)
        return await self._inner.connect_tcp(addresses[0], port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise DestinationRefused("webhooks go to http(s) URLs only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    final: bool  # trying again cannot help (the address is refused)
    status: str  # "HTTP 204", "timed out after 10 s", "refused: …"


class WebhookClient:
    """Signs and sends webhook events; one connection pool for every delivery."""

    def __init__(self, settings: OrchestratorSettings):
        self._signer = Webhook(settings.webhook_secret) if settings.webhook_secret else None
        self._timeout_s = settings.webhook_timeout_s
        self._pool = httpcore.AsyncConnectionPool(network_backend=GuardedBackend(settings), max_connections=16,
                                                  keepalive_expiry=30.0)

    async def send(self, webhook_id: str, url: str, payload: str, now: datetime) -> Outcome:
        if self._signer is None:
            return Outcome(False, True, "refused: WEBHOOK_SECRET is not set on this server")
        body = payload.encode()
        headers = {
            "content-type": "application/json",
            "user-agent": "video-analysis-webhooks",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signer.sign(webhook_id, now, body),
        }
        timeouts = {"connect": self._timeout_s, "read": self._timeout_s, "write": self._timeout_s,
                    "pool": self._timeout_s}
        try:
            async with asyncio.timeout(self._timeout_s * 2):
                async with self._pool.stream("POST", url, headers=headers, content=body,
                                             extensions={"timeout": timeouts}) as response:
                    read = 0
                    async for chunk in response.aiter_stream():  # drained a little, never kept
                        read += len(chunk)
                        if read >= MAX_ANSWER_BYTES:
                            break
        except DestinationRefused as exc:
            return Outcome(False, True, f"refused: {exc}")
        except TimeoutError:
            return Outcome(False, False, f"timed out after {self._timeout_s:g} s")
        except httpcore.TimeoutException:
            return Outcome(False, False, f"timed out after {self._timeout_s:g} s")
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError) as exc:
            return Outcome(False, False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        status = f"HTTP {response.status}"
        return Outcome(200 <= response.status < 300, False, status)

    async def aclose(self) -> None:
        await self._pool.aclose()
