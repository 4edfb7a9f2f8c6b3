"""The web page and the API docs in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Every page runs in a browser context that lets only loopback requests through (anything else is
aborted and recorded), and every request a page makes is recorded, so a test can assert that nothing
was asked of any other origin. Screenshots of the main states go to var/test-artifacts/web/.
"""

import os
import shutil
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.processes import REPO

ARTIFACTS = REPO / "var" / "test-artifacts" / "web"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
DESKTOP = {"width": 1280, "height": 880}
PHONE = {"width": 375, "height": 812}


def chromium_path() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    pytest.fail("these tests need Debian's chromium: `make test` installs it as root (apt-get install chromium), "
                "or set CHROMIUM to a Chromium binary")


# Per module, not per session: Playwright's sync API keeps an event loop running in the main thread while
# it is open, and every later test that calls asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A page and what it asked for: every request's URL, and those the guard stopped."""

    page: Page
    origin: str
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # uncaught exceptions and Content-Security-Policy reports
    failures: dict[str, str] = field(default_factory=dict)  # URL -> why the browser did not complete it

    def assert_stayed_on_origin(self, refused_by_policy: tuple[str, ...] = ()) -> None:
        """Every request was to the origin; `refused_by_policy` names URLs a page script may ask for that the
        page's Content-Security-Policy must have refused inside the browser, before any connection."""
        assert self.requests, "the page made no request at all"
        elsewhere = [url for url in self.requests
                     if not (url.startswith(self.origin + "/") or url.startswith(("blob:", "data:")))]
        unexpected = [url for url in elsewhere if url not in refused_by_policy]
        assert not unexpected, f"requests left {self.origin}: {unexpected}"
        for url in elsewhere:
            assert self.failures.get(url) == "csp", (url, self.failures.get(url))  # Chromium: refused by CSP
        assert not self.blocked, f"requests beyond loopback were blocked: {self.blocked}"

    def screenshot(self, name: str, full_page: bool = False) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page, animations="disabled")


def _is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK_HOSTS


@pytest.fixture
def open_page(browser: Browser):
    """open_page(origin, path, viewport=DESKTOP, **context options) -> Watched; contexts close after the test,
    which fails when a page threw an uncaught error, broke its Content-Security-Policy or reached beyond
    loopback."""
    opened: list[Watched] = []

    def open_(origin: str, path: str = "/ui", viewport: dict | None = None, **options) -> Watched:
        context = browser.new_context(viewport=viewport or DESKTOP, color_scheme=options.pop("color_scheme", "light"),
                                      service_workers="block", **options)
        page = context.new_page()
        watched = Watched(page=page, origin=origin)

        def guard(route):
            if _is_loopback(route.request.url):
                route.fallback()
            else:
                watched.blocked.append(route.request.url)
                route.abort("blockedbyclient")

        context.route("**/*", guard)
        page.on("request", lambda request: watched.requests.append(request.url))
        page.on("requestfailed", lambda request: watched.failures.__setitem__(request.url, request.failure))
        page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))
        page.on("console", lambda message: watched.errors.append(f"console: {message.text}")
                if "Content Security Policy" in message.text else None)
        opened.append(watched)
        if path is not None:
            page.goto(origin + path)
        return watched

    yield open_
    for watched in opened:
        watched.page.context.close()
    for watched in opened:
        assert not watched.blocked, f"requests beyond loopback were blocked: {watched.blocked}"
        assert not watched.errors, watched.errors
