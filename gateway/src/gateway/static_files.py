"""Files the gateway serves from a folder by name (the web page's assets, the API docs' scripts): only
the names listed, each with its own media type, so nothing else in the folder can be asked for."""

from pathlib import Path

from fastapi import HTTPException
from fastapi.responses import FileResponse


def listed_file(folder: Path, media_types: dict[str, str], name: str, headers: dict[str, str]) -> FileResponse:
    media_type = media_types.get(name)
    if media_type is None:
        raise HTTPException(404, f"no asset {name}")
    return FileResponse(folder / name, media_type=media_type, headers=headers)
