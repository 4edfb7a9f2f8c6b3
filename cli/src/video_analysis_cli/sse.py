"""A Server-Sent Events parser (the WHATWG event-stream format) fed with bytes as they arrive.

Chunks may split a line, a CRLF or a UTF-8 character anywhere; events come out only once the blank line
that ends them has arrived, and a last event cut off by the end of the stream is dropped, as browsers do.
"""

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEParser:
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events that `chunk` completes."""
        self._buffer += self._decoder.decode(chunk)
        if not self._started and self._buffer:
            self._buffer = self._buffer.removeprefix("\ufeff")  # a byte-order mark may open the stream
            self._started = True
        return self._take_lines(final=False)

    def close(self) -> list[ServerSentEvent]:
        """The end of the stream: a line still open is taken as ended, an event without its blank line is not."""
        self._buffer += self._decoder.decode(b"", final=True)
        return self._take_lines(final=True)

    def _take_lines(self, final: bool) -> list[ServerSentEvent]:
        events = []
        while match := LINE_END.search(self._buffer):
            # A lone CR at the end may be the first half of a CRLF whose LF is in the next chunk.
            if match.group() == "\r" and match.end() == len(self._buffer) and not final:
                break
            line, self._buffer = self._buffer[: match.start()], self._buffer[match.end():]
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):  # a comment, e.g. a heartbeat that keeps proxies from closing the stream
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data, event, self._data, self._event = self._data, self._event, [], ""
        if not data:  # the format's rule: a block with no data line is no event
            return None
        return ServerSentEvent(event=event or "message", data="\n".join(data), id=self._last_id, retry=self._retry)


def iter_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """The events of a stream given as byte chunks, each as soon as it is complete."""
    parser = SSEParser()
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.close()
