"""`GET /ui`: the web page for people: submit a video, watch it being analysed, read the result.

The page is static (gateway/web/: HTML, CSS and JavaScript, no build step) and talks to the public API
from the browser with the caller's own key, so serving it needs no key. Everything it loads comes from
this origin, which its Content-Security-Policy enforces.
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ..static_files import listed_file

router = APIRouter(include_in_schema=False)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
# The page's assets, by the name the page asks for; nothing else in the folder is served.
ASSETS = {
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
# Only this origin: no inline script or style, no frames, no plugins. Frame images are blob: URLs made
# from authenticated fetches (an <img src> cannot carry the API key); data: covers the form's SVG icons.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on every load (ETag), so a new version of the service is picked up at once.
    "Cache-Control": "no-cache",
}


@router.get("/ui")
async def page() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/ui/assets/{name}")
async def asset(name: str) -> FileResponse:
    return listed_file(WEB_DIR, ASSETS, name, HEADERS)
