"""A benchmark's results: printed, and written as its section of docs/benchmarks.md, leaving the others as
they are."""

import os
import platform
from pathlib import Path


def write_section(path: Path, heading: str, text: str) -> None:
    """Replace the section that starts with `heading` (a "## " line, matched by its start) by `text`, or
    add it at the end; the file is created with a title when missing."""
    document = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    before, found, after = document.partition("\n" + heading)
    rest = after.split("\n## ", 1)[1] if found and "\n## " in after else ""
    document = before.rstrip() + "\n\n" + text.strip() + "\n" + (f"\n## {rest}" if rest else "")
    path.write_text(document, encoding="utf-8")


def write_report(path: Path, heading: str, module: str, doc: str, results: str) -> None:
    """A benchmark's section: its heading and command, its method (the module docstring past its usage
    paragraphs), then its results."""
    method = doc.split("\n\n", 2)[2].strip()
    write_section(path, heading, f"{heading} (`python -m {module}`)\n\n{method}\n\n{results}\n")


def publish(results: str, out: Path | None, heading: str, module: str, doc: str) -> None:
    """Print `results`; given `out`, also write them there as the benchmark's section (see write_report)."""
    print(results)
    if out:
        write_report(out, heading, module, doc, results)


def machine() -> str:
    """What the figures were measured on, for the report."""
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
