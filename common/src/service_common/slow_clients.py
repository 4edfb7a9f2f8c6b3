"""Deadlines on reading a request, for uvicorn: `uvicorn --http service_common.slow_clients:HttpProtocol`.

uvicorn times out only the wait between two requests (its keep-alive timeout, which every received
byte cancels), so a client that sends its headers a byte at a time, or stalls halfway through its
body, holds a connection for as long as it likes; a few hundred such clients use up a server. ASGI
middleware cannot help: an app is called only once the headers are in. So the HTTP protocol itself
closes a connection whose request headers take longer than HEADER_TIMEOUT_S, counted from the
connection (or the previous response), or whose body stays silent longer than BODY_READ_TIMEOUT_S.
The body's is an idle time, not a total: a large upload that keeps coming is never cut. Time the
server itself is not reading (flow control paused, or a 100-continue not yet sent) does not count.

Between requests a connection is kept open KEEP_ALIVE_S (at most HEADER_TIMEOUT_S) for the client's
next one. uvicorn's own 5 s is exactly how often the API's clients poll a task, so each poll would
race the server closing its connection (the client sees a reset, or pays a new connection).
"""

import asyncio
import logging
from enum import Enum
from functools import cache

import h11
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from uvicorn.protocols.http.h11_impl import H11Protocol as UvicornH11Protocol

log = logging.getLogger("uvicorn.error")

REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class ClientTimeouts(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    header_timeout_s: float = Field(default=10.0, gt=0)
    body_read_timeout_s: float = Field(default=30.0, gt=0)
    keep_alive_s: float = Field(default=9.0, gt=0)


@cache
def client_timeouts() -> ClientTimeouts:
    return ClientTimeouts()


class Phase(Enum):
    HEADERS = "headers"  # waiting for a request's headers
    BODY = "body"  # reading a request's body
    SERVING = "serving"  # the request is in; the app answers it, in its own time


class ReadDeadlines:
    """Mixed into a uvicorn HTTP protocol class; subclasses say which phase a connection is in."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._timeouts = client_timeouts()
        # uvicorn schedules its keep-alive close with this attribute after each response.
        self.timeout_keep_alive = min(self._timeouts.keep_alive_s, self._timeouts.header_timeout_s)
        self._answered = False
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._timed_phase: Phase | None = None
        self._phase_started = self._last_read = self.loop.time()
        self._header_bytes = False
        self._update_deadline()

    def data_received(self, data: bytes) -> None:
        self._last_read = self.loop.time()
        if self._timed_phase is Phase.HEADERS:
            self._header_bytes = True
        super().data_received(data)
        self._update_deadline()

    def on_response_complete(self) -> None:
        self._answered = True
        super().on_response_complete()
        self._update_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def _request_phase(self) -> Phase:
        raise NotImplementedError

    def _server_holds_body(self) -> bool:
        """Whether the body is not arriving because the server has not asked for it yet."""
        raise NotImplementedError

    def _cancel_deadline(self) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None

    def _update_deadline(self) -> None:
        if self.transport.is_closing():
            self._cancel_deadline()
            return
        phase = self._request_phase()
        if phase is not self._timed_phase:
            self._cancel_deadline()
            self._timed_phase = phase
            self._phase_started = self.loop.time()
            self._header_bytes = False
        if phase is not Phase.SERVING and self._deadline_timer is None:
            self._deadline_timer = self.loop.call_at(self._expiry(), self._on_deadline)

    def _expiry(self) -> float:
        if self._timed_phase is Phase.HEADERS:
            return self._phase_started + self._timeouts.header_timeout_s
        return self._last_read + self._timeouts.body_read_timeout_s

    def _on_deadline(self) -> None:
        self._deadline_timer = None
        if self.transport.is_closing() or self._request_phase() is not self._timed_phase:
            return
        now = self.loop.time()
        if self._timed_phase is Phase.BODY and self._server_holds_body():
            self._last_read = now  # the client cannot send what the server does not read
        if now < self._expiry():
            self._deadline_timer = self.loop.call_at(self._expiry(), self._on_deadline)
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        if self._timed_phase is Phase.HEADERS and self._answered and not self._header_bytes:
            self.transport.close()  # a kept-alive connection nobody used again: its keep-alive ends here
            return
        if self._timed_phase is Phase.HEADERS:
            log.warning("closed the connection from %s: no complete request headers within %g s (HEADER_TIMEOUT_S)",
                        client, self._timeouts.header_timeout_s)
            if self._header_bytes:  # a request was begun: say why it ends (no app has answered yet)
                self.transport.write(REQUEST_TIMEOUT)
        else:
            log.warning("closed the connection from %s: its request body sent nothing for %g s (BODY_READ_TIMEOUT_S)",
                        client, self._timeouts.body_read_timeout_s)
        self.transport.close()


class H11Protocol(ReadDeadlines, UvicornH11Protocol):
    def _request_phase(self) -> Phase:
        theirs, ours = self.conn.their_state, self.conn.our_state
        if theirs is h11.IDLE or (theirs is h11.DONE and ours is h11.DONE):
            return Phase.HEADERS
        if theirs is h11.SEND_BODY:
            return Phase.BODY
        return Phase.SERVING

    def _server_holds_body(self) -> bool:
        return self.flow.read_paused or self.conn.they_are_waiting_for_100_continue

    def handle_websocket_upgrade(self, event) -> None:
        self._cancel_deadline()  # the connection now belongs to the WebSocket protocol
        super().handle_websocket_upgrade(event)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as UvicornHttpToolsProtocol
except ImportError:  # httptools is optional in uvicorn; h11 always comes with it
    HttpProtocol: type = H11Protocol
else:

    class HttpToolsProtocol(ReadDeadlines, UvicornHttpToolsProtocol):
        """httptools reports progress through parser callbacks, so the phase is kept from them."""

        _phase = Phase.HEADERS

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._phase = Phase.BODY

        def on_message_complete(self) -> None:
            super().on_message_complete()
            # An app that answered without reading the whole body is done with the request already.
            done = self.cycle is not None and self.cycle.response_complete and not self.pipeline
            self._phase = Phase.HEADERS if done else Phase.SERVING

        def on_response_complete(self) -> None:
            idle = not self.pipeline
            if idle and self._phase is Phase.SERVING:
                self._phase = Phase.HEADERS
            super().on_response_complete()

        def _request_phase(self) -> Phase:
            return self._phase

        def _server_holds_body(self) -> bool:
            return self.flow.read_paused or bool(self.cycle and self.cycle.waiting_for_100_continue)

        def handle_websocket_upgrade(self) -> None:
            self._cancel_deadline()
            super().handle_websocket_upgrade()

    HttpProtocol = HttpToolsProtocol
