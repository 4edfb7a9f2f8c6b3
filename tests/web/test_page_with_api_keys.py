"""The page at /ui when the gateway has API keys: it asks for a key on the first 401, keeps it in
localStorage, sends it as `Authorization: Bearer` (frame images included, fetched as blobs) and never
puts it in a URL. One full stack with API_KEYS for the module."""

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.support.stack import running_stack
from tests.support.videos import make_video

from .test_page import expect_completed_result, open_options, task_id_of

ALICE = "alice-web-key-0123456789"
KEY_STORAGE = "video-analysis.api-key"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    keys = {"API_KEYS": f"alice:{ALICE},bob:bob-web-key-9876543210"}
    with running_stack(tmp_path_factory.mktemp("web-keys"), service_env={"gateway": keys}) as stack:
        yield stack.url("gateway")


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("web-keys-upload") / "clip.mp4", seconds=3, size="320x180")


def test_the_page_asks_for_a_key_then_works_with_it(open_page, api, small_file):
    assert requests.get(f"{api}/tasks", timeout=10).status_code == 401
    for open_path in ("/ui", "/ui/assets/app.js", "/docs", "/redoc"):
        assert requests.get(api + open_path, timeout=10).status_code == 200, open_path
    watched = open_page(api)
    page = watched.page
    sent = []
    page.on("request", lambda request: sent.append((request.url, request.headers.get("authorization"))))

    dialog = page.get_by_role("dialog", name="API key needed")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("a valid API key is required")
    watched.screenshot("07-key-dialog")
    page.get_by_label("API key", exact=True).fill("not-the-right-key-000")
    page.get_by_label("API key", exact=True).press("Enter")
    expect(dialog).to_contain_text("the API key is not valid")
    page.get_by_label("API key", exact=True).fill(ALICE)
    page.get_by_role("button", name="Use key").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#tasks-empty")).to_be_visible()
    expect(page.get_by_role("button", name="API key")).to_be_visible()
    assert page.evaluate(f"localStorage.getItem('{KEY_STORAGE}')") == ALICE
    listings = [auth for url, auth in sent if url == f"{api}/tasks?limit=50"]
    assert listings == ["Bearer not-the-right-key-000", f"Bearer {ALICE}"], listings  # after the first 401
    sent.clear()

    # An upload (XMLHttpRequest) and the whole analysis with the key.
    page.get_by_text("File", exact=True).click()
    page.get_by_label("Video file").set_input_files(str(small_file))
    open_options(page)
    page.get_by_label("Max frames").fill("2")
    page.get_by_role("button", name="Analyse video").click()
    expect_completed_result(page, frames=2)
    task_id = task_id_of(page)
    owned = requests.get(f"{api}/tasks/{task_id}", headers={"Authorization": f"Bearer {ALICE}"}, timeout=10)
    assert owned.json()["status"] == "completed"

    api_calls = [(url, auth) for url, auth in sent
                 if re.search(r"/(tasks|analyze|uploads)\b", url.removeprefix(api))]
    assert any("/frames/" in url for url, _ in api_calls)
    assert any(url.endswith("/uploads") for url, _ in api_calls)
    assert all(auth == f"Bearer {ALICE}" for _, auth in api_calls), api_calls
    assert not [url for url in watched.requests if ALICE in url], "the key went into a URL"
    watched.assert_stayed_on_origin()

    # The key is kept: a reload asks for nothing and lists the task.
    page.reload()
    expect(page.locator(f'.task-item[data-task-id="{task_id}"]')).to_be_visible()
    expect(dialog).to_be_hidden()

    # Forgotten, it is asked for again; declining leaves the reason on the page.
    page.get_by_role("button", name="API key").click()
    expect(dialog).to_be_visible()
    page.get_by_role("button", name="Forget key").click()
    expect(dialog).to_be_hidden()
    assert page.evaluate(f"localStorage.getItem('{KEY_STORAGE}')") is None
    page.reload()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#tasks-error")).to_contain_text("An API key is needed")
