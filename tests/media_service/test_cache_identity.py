"""Stored media is shared only where it is one video: a real service, two sites on two loopback
addresses (same port) whose pages and files have the same names but different videos, two proxies
that reach different machines under one host name, and a site's own extractor (WorldStarHipHop,
served through a loopback proxy) whose two URL spellings of one video still share one download.
Every process runs with the test-only network safety net: nothing leaves loopback."""

import json
import shutil
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from media_service.fetch.policy import media_id_for_key
from media_service.store.media_store import media_id_for
from tests.support.counting_origin import CountingHandler, CountingServer, counting_server
from tests.support.netguard import breaches, netguard_env
from tests.support.videos import make_video, write_video_page

from .conftest import media_service_process
from .ssrf_fixtures import TIMEOUT, guarded_service

# Path pairs (site A, site B): the pages of each pair have the same file-name stem, so yt-dlp's
# HTML5 extractor gives both the id "watch-1"; both pages embed a file called clip.mp4.
PAGE_PAIRS = [
    ("/corp/recordings/watch.html", "/watch"),
    ("/same/watch.html", "/same/watch.html"),
]
WSHH_ID = "wshh6a7q1ny0G34ZwuIO"
WSHH_SPELLINGS = [  # the extractor's own two spellings of one video, on the site's two hosts
    f"http://www.worldstarhiphop.com/videos/video.php?v={WSHH_ID}",
    f"http://m.worldstarhiphop.com/android/video.php?v={WSHH_ID}",
]
INTRANET_PAGE = "http://intranet.example/watch.html"  # one name, a different machine behind each proxy


class PageHandler(CountingHandler):
    """Also serves extension-less pages (/watch) as HTML, the way sites do."""

    extensions_map = {**CountingHandler.extensions_map, "": "text/html"}


def write_site(root: Path, title: str, seconds: float, size: str) -> Path:
    make_video(root / "clip.mp4", seconds=seconds, size=size)
    for a_page, b_page in PAGE_PAIRS:
        for page in {a_page, b_page}:
            folder = root / Path(page).parent.relative_to("/")
            folder.mkdir(parents=True, exist_ok=True)
            if folder != root:
                shutil.copy(root / "clip.mp4", folder / "clip.mp4")
            write_video_page(root / page.lstrip("/"), "clip.mp4", title)
    return root


@contextmanager
def two_sites_on_one_port(root_a: Path, root_b: Path):
    """Site A on 127.0.0.1 and site B on 127.0.0.2, at the same port: only the host tells them apart."""
    for _attempt in range(20):
        with ExitStack() as stack:
            a = stack.enter_context(counting_server(root_a, host="127.0.0.1", handler=PageHandler))
            try:
                b = stack.enter_context(counting_server(root_b, host="127.0.0.2", port=a.port, handler=PageHandler))
            except OSError:  # that port is taken on 127.0.0.2: try another
                continue
            yield a, b
            return
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")


def write_wshh_pages(root: Path, title: str) -> None:
    """The site's video page under both spellings, each embedding its clip relative to itself."""
    for folder in ("videos", "android"):
        (root / folder).mkdir(exist_ok=True)
        make_video(root / folder / "clip.mp4", seconds=2.0, size="320x180")
        (root / folder / "video.php").write_text(
            f'<html><body><div class="content-heading"><h1>{title}</h1></div>'
            '<video controls><source src="clip.mp4" type="video/mp4"></video></body></html>',
            encoding="utf-8",
        )


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    root_a = write_site(tmp_path_factory.mktemp("site-a"), "Site A board meeting", 3.0, "320x180")
    root_b = write_site(tmp_path_factory.mktemp("site-b"), "Site B product demo", 5.0, "480x270")
    with two_sites_on_one_port(root_a, root_b) as pair:
        yield pair


@pytest.fixture(scope="module")
def proxies(tmp_path_factory):
    """Two proxies (plain HTTP, serving each absolute URL's path from their own files)."""
    roots = []
    for name, seconds in (("proxy-a", 2.0), ("proxy-b", 4.0)):
        root = tmp_path_factory.mktemp(name)
        make_video(root / "clip.mp4", seconds=seconds, size="320x180")
        write_video_page(root / "watch.html", "clip.mp4", f"Intranet behind {name}")
        write_wshh_pages(root, "KO Of The Week")
        roots.append(root)
    with counting_server(roots[0]) as proxy_a, counting_server(roots[1]) as proxy_b:
        yield proxy_a, proxy_b


@pytest.fixture(scope="module")
def service(tmp_path_factory, sites, proxies):
    env = {"EGRESS_ALLOW_CIDRS": "127.0.0.1/32,127.0.0.2/32", "ALLOWED_PROXIES": ",".join(p.base for p in proxies)}
    with guarded_service(tmp_path_factory.mktemp("identity"), **env) as running:
        yield running


@pytest.fixture(autouse=True)
def nothing_left_loopback(request):
    yield
    if "service" in request.fixturenames:
        assert request.getfixturevalue("service").breaches() == []


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def assert_is_the_video_of(result: dict, site: CountingServer, page: str) -> None:
    clip = site.root / Path(page).parent.relative_to("/") / "clip.mp4"
    title = "Site A board meeting" if site.host == "127.0.0.1" else "Site B product demo"
    assert result["video_info"]["title"] == title
    assert result["filesize"] == clip.stat().st_size
    assert result["webpage_url"] == site.base + page


@pytest.mark.parametrize(("page_a", "page_b"), PAGE_PAIRS)
def test_pages_with_the_same_names_on_two_sites_get_their_own_videos(service, sites, page_a, page_b):
    site_a, site_b = sites
    clip_b = str(Path(page_b).parent / "clip.mp4")
    first = ok(service.download(site_a.base + page_a))
    assert_is_the_video_of(first, site_a, page_a)

    second = ok(service.download(site_b.base + page_b))
    assert site_b.gets.get(clip_b) == 1, site_b.gets  # site B's video was fetched, from site B
    assert second["media_id"] != first["media_id"]
    assert_is_the_video_of(second, site_b, page_b)
    assert round(first["video_info"]["duration"]) == 3 and round(second["video_info"]["duration"]) == 5

    again = ok(service.download(site_a.base + page_a))  # and site A's is still site A's
    assert again["media_id"] == first["media_id"]


def write_store_of_the_earlier_rule(media_dir: Path, site_a: CountingServer, url_b: str) -> str:
    """Site A's video stored under the key the earlier rule gave it, "html5mediaembed:watch-1", and
    site B's URL pointing at it, as happened when site B's page was asked for after site A's."""
    poisoned = media_id_for_key("html5mediaembed:watch-1")
    stored = media_dir / poisoned
    stored.mkdir(parents=True)
    shutil.copy(site_a.root / "corp/recordings/clip.mp4", stored / "video.mp4")
    page_a = f"{site_a.base}/corp/recordings/watch.html"
    result = {"media_id": poisoned, "video_info": {"title": "Site A board meeting", "duration": 3.0, "channel": None},
              "webpage_url": page_a, "extractor": "html5", "subtitles": [], "language": None,
              "filesize": (stored / "video.mp4").stat().st_size}
    record = {"result": result, "video_file": "video.mp4", "url": page_a, "media_key": "html5mediaembed:watch-1"}
    (stored / "record.json").write_text(json.dumps(record), encoding="utf-8")
    (media_dir / ".aliases").mkdir()
    (media_dir / ".aliases" / media_id_for(url_b)).write_text(poisoned, encoding="utf-8")
    return poisoned


def test_a_link_to_another_sites_video_left_by_the_earlier_rule_is_not_followed(tmp_path, sites):
    site_a, site_b = sites
    url_b = f"{site_b.base}/watch"
    media_dir = tmp_path / "media"
    poisoned = write_store_of_the_earlier_rule(media_dir, site_a, url_b)
    fetched_before = site_b.gets.get("/clip.mp4", 0)
    breach_log = tmp_path / "breaches.log"
    env = {**netguard_env(breach_log), "EGRESS_ALLOW_CIDRS": "127.0.0.1/32,127.0.0.2/32"}
    with media_service_process(media_dir, **env) as (base, _process):
        done = ok(httpx.post(f"{base}/downloads", json={"url": url_b}, timeout=TIMEOUT))
    assert breaches(breach_log) == []
    assert site_b.gets.get("/clip.mp4", 0) == fetched_before + 1  # site B's own video was fetched
    assert done["media_id"] != poisoned
    assert_is_the_video_of(done, site_b, "/watch")


def test_one_url_through_two_proxies_that_reach_different_machines(service, proxies):
    proxy_a, proxy_b = proxies
    through_a = ok(service.download(INTRANET_PAGE, proxy=proxy_a.base))
    through_b = ok(service.download(INTRANET_PAGE, proxy=proxy_b.base))
    assert proxy_b.gets.get("http://intranet.example/clip.mp4") == 1  # not answered from proxy A's
    assert through_b["media_id"] != through_a["media_id"]
    assert through_a["video_info"]["title"] == "Intranet behind proxy-a"
    assert through_b["video_info"]["title"] == "Intranet behind proxy-b"
    assert ok(service.download(INTRANET_PAGE, proxy=proxy_a.base)) == through_a  # each is kept


def test_two_spellings_of_one_video_of_a_site_share_one_download(service, proxies):
    """The site's extractor names the video by its id on its site, whatever the spelling or the proxy
    (guards that the rule above left the sharing of site ids in place)."""
    proxy_a, proxy_b = proxies
    first = ok(service.download(WSHH_SPELLINGS[0], proxy=proxy_a.base))
    assert first["extractor"] == "WorldStarHipHop" and first["video_info"]["title"] == "KO Of The Week"
    second = ok(service.download(WSHH_SPELLINGS[1], proxy=proxy_b.base))
    assert second["media_id"] == first["media_id"]
    assert proxy_b.gets.get(WSHH_SPELLINGS[1]) == 1  # extracted through the other proxy...
    assert "http://m.worldstarhiphop.com/android/clip.mp4" not in proxy_b.gets  # ...but not downloaded again
    assert proxy_a.gets.get("http://www.worldstarhiphop.com/videos/clip.mp4") == 1

