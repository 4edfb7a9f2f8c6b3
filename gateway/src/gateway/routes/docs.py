"""`/docs` (Swagger UI) and `/redoc` (ReDoc) served with their scripts from this gateway, so the
interactive documentation works on a network without internet. The assets come from the
`fastapi-offline` package (pinned in uv.lock); FastAPI's own pages are used, pointed at them."""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

from ..static_files import listed_file

router = APIRouter(include_in_schema=False)

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
# Both pages start their viewer with an inline script and style it inline, but nothing else than this
# origin may be reached (ReDoc runs its search in a blob: worker).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff"}
ASSET_HEADERS = {**HEADERS, "Cache-Control": "public, max-age=86400"}


def _base(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _page(response: HTMLResponse) -> HTMLResponse:
    response.headers.update(HEADERS)
    return response


@router.get(DOCS_URL)
async def swagger_ui(request: Request) -> HTMLResponse:
    base = _base(request)
    return _page(get_swagger_ui_html(
        openapi_url=base + request.app.openapi_url,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{base}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{base}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{base}{ASSETS_URL}/favicon.png",
        oauth2_redirect_url=base + OAUTH2_REDIRECT_URL,
        # No badge from the public validator service: it would send the schema's address out.
        swagger_ui_parameters={"validatorUrl": None},
    ))


@router.get(OAUTH2_REDIRECT_URL)
async def swagger_ui_redirect() -> HTMLResponse:
    return _page(get_swagger_ui_oauth2_redirect_html())


@router.get(REDOC_URL)
async def redoc(request: Request) -> HTMLResponse:
    base = _base(request)
    return _page(get_redoc_html(
        openapi_url=base + request.app.openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{base}{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{base}{ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    ))


@router.get(ASSETS_URL + "/{name}")
async def asset(name: str) -> FileResponse:
    return listed_file(ASSETS_DIR, ASSETS, name, ASSET_HEADERS)
