"""Log lines prefixed with the time and the service's name, coloured when written to a terminal."""

import os
import sys
import time

_COLOURS = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"]
SYSTEM = "system"


class Output:
    def __init__(self, names: list[str], stream=sys.stdout):
        self._stream = stream
        self._width = max(len(name) for name in [*names, SYSTEM])
        coloured = stream.isatty() and "NO_COLOR" not in os.environ
        self._colours = {name: _COLOURS[index % len(_COLOURS)] for index, name in enumerate(names)} if coloured else {}
        if coloured:
            self._colours[SYSTEM] = "1"
        self._writable = True

    def line(self, name: str, text: str) -> None:
        prefix = f"{time.strftime('%H:%M:%S')} {name:<{self._width}} | "
        colour = self._colours.get(name)
        if colour:
            prefix = f"\033[{colour}m{prefix}\033[0m"
        self._write(prefix + text + "\n")

    def system(self, text: str) -> None:
        self.line(SYSTEM, text)

    def _write(self, text: str) -> None:
        # A closed terminal or reader must not stop the runner from stopping the services.
        if not self._writable:
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            self._writable = False


class LineSplitter:
    """Bytes from a pipe, as whole lines."""

    def __init__(self):
        self._pending = b""

    def feed(self, data: bytes) -> list[str]:
        *lines, self._pending = (self._pending + data).split(b"\n")
        return [line.decode(errors="replace").rstrip("\r") for line in lines]

    def rest(self) -> list[str]:
        rest, self._pending = self._pending, b""
        return [rest.decode(errors="replace")] if rest else []
