"""Files and directories that appear whole or not at all: written under a temporary name, then renamed."""

import json
import os
import shutil
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_json_atomically(path: Path, value: object) -> None:
    write_text_atomically(path, json.dumps(value))


def move_into_place(work_dir: Path, target: Path, complete_marker: str) -> None:
    """Rename the finished `work_dir` to `target` in one step. A `target` that holds `complete_marker`
    (written last) was finished by someone else first and is kept, `work_dir` removed; one without it
    is a leftover of an interrupted attempt and is replaced."""
    if target.exists():
        if (target / complete_marker).is_file():
            shutil.rmtree(work_dir, ignore_errors=True)
            return
        shutil.rmtree(target, ignore_errors=True)
    try:
        os.rename(work_dir, target)
    except OSError:
        if not (target / complete_marker).is_file():
            raise
        shutil.rmtree(work_dir, ignore_errors=True)  # a concurrent finisher renamed between check and rename
