"""Which extracted ids may key the store, over yt-dlp's real extractor list, and the keys and URL
aliases that follow. The same rule at work in the service: test_cache_identity.py."""

import pytest
from yt_dlp.extractor import gen_extractor_classes, get_info_extractor

from media_service.fetch.extractor_trust import bound_to_host, id_names_the_video, trusted_id
from media_service.fetch.policy import media_id_for_key, media_key
from media_service.store.media_store import MediaStore

EXTRACTORS = list(gen_extractor_classes())
YOUTUBE_SPELLINGS = [
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://youtu.be/dQw4w9WgXcQ",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10s",
    "https://m.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
]
# Pages of two sites that share page and file names, as a deployment's intranet sites do.
SHARED_NAME_PAGES = [
    "http://127.0.0.1:8080/corp/recordings/watch.html",
    "http://127.0.0.2:8080/watch",
    "http://site-b/watch",
    "https://intranet.example.com/videos/watch/1234",
    "https://recordings.example.org/embed/dQw4w9WgXcQ",
]


def html5_entry(page: str, media: str) -> dict:
    """What yt-dlp reports for the first <video> of a page: HTML5MediaEmbed names it after the page's file."""
    stem = page.rstrip("/").rsplit("/", 1)[-1].split(".")[0]
    return {"extractor": "html5", "extractor_key": "HTML5MediaEmbed", "id": f"{stem}-1", "webpage_url": page,
            "original_url": page, "url": media, "format_id": "0"}


def test_youtube_vouches_for_its_ids_in_every_spelling():
    youtube = get_info_extractor("Youtube")
    assert all(id_names_the_video(youtube, [url]) for url in YOUTUBE_SPELLINGS)
    info = {"extractor": "youtube", "extractor_key": "Youtube", "id": "dQw4w9WgXcQ"}
    keys = {media_key({**info, "webpage_url": url}, trusted_id(info, [url]), proxy) for url in YOUTUBE_SPELLINGS
            for proxy in (None, "http://proxy.example:3128")}
    assert keys == {"extractor-id:youtube:dQw4w9WgXcQ"}


def test_a_youtube_video_embedded_in_a_page_is_still_youtubes():
    # A page (Generic) hands the embedded player's URL on: the YouTube extractor got its own site's URL.
    youtube = get_info_extractor("Youtube")
    assert id_names_the_video(youtube, ["http://127.0.0.1:8080/blog/post.html", YOUTUBE_SPELLINGS[0]])


@pytest.mark.parametrize("page", SHARED_NAME_PAGES)
def test_no_extractor_vouches_for_an_id_found_on_a_page_of_any_host(page):
    vouching = [e.ie_key() for e in EXTRACTORS if id_names_the_video(e, [page])]
    assert vouching == []
    assert [e.ie_key() for e in EXTRACTORS if e.suitable(page)] == ["Generic"]  # the page is generic's


def test_generic_and_embed_only_extractors_never_vouch():
    embed_only = [e for e in EXTRACTORS if e._VALID_URL is False]
    assert "HTML5MediaEmbed" in {e.ie_key() for e in embed_only}
    for extractor in [get_info_extractor("Generic"), *embed_only]:
        assert not id_names_the_video(extractor, [*SHARED_NAME_PAGES, *YOUTUBE_SPELLINGS]), extractor.ie_key()


def test_a_sites_extractor_that_built_the_video_from_another_page_does_not_vouch():
    # Its id came from what some page said, not from its own site: it was handed no URL of its own.
    youtube = get_info_extractor("Youtube")
    assert not id_names_the_video(youtube, ["http://127.0.0.2:8080/watch"])
    assert not id_names_the_video(None, YOUTUBE_SPELLINGS)  # an extractor yt-dlp does not list


def test_extractors_for_software_on_any_host_do_not_vouch():
    # Mediasite runs on each customer's own server: its ids are that server's, not one site's.
    mediasite = get_info_extractor("Mediasite")
    mine = "https://lectures.example.edu/Mediasite/Play/2db6c271681e4f199af3c60d1f82869b1d"
    assert mediasite.suitable(mine) and not id_names_the_video(mediasite, [mine])
    # A host pattern open at its end claims "ndr2.radio.de.<anything>": not bound to radio.de.
    assert not bound_to_host(get_info_extractor("RadioDe"), "http://ndr2.radio.de/")
    # A URL with no host to try elsewhere: "peertube:<host>:<id>" ids are only unique per host.
    peertube = get_info_extractor("PeerTube")
    pseudo_url = "peertube:video.example.org:9c9de5e8-0a1e-484a-b099-e80766180a6d"
    assert peertube.suitable(pseudo_url) and not bound_to_host(peertube, pseudo_url)


def test_most_site_extractors_vouch_for_their_own_test_urls():
    """Over yt-dlp's whole list: each extractor's own example URLs on its own site are trusted unless
    the extractor would take the same URL on a foreign host; the rule is no blanket refusal."""
    vouched, refused = set(), set()
    for extractor in EXTRACTORS:
        if not extractor._VALID_URL:
            continue
        for case in extractor.real_class.get_testcases(include_onlymatching=True):
            url = case.get("url")
            if url and extractor.suitable(url) and url.startswith(("http://", "https://")):
                (vouched if id_names_the_video(extractor, [url]) else refused).add(extractor.ie_key())
    assert {"Youtube", "Vimeo", "Dailymotion", "TwitchVod", "BrightcoveNew"} <= vouched
    assert {"Generic", "Mediasite", "MediasiteCatalog"} <= refused - vouched
    assert len(vouched) > 0.9 * len(EXTRACTORS)


def test_pages_that_share_names_get_different_keys():
    a = html5_entry("http://127.0.0.1:8080/corp/recordings/watch.html", "http://127.0.0.1:8080/corp/recordings/clip.mp4")
    b = html5_entry("http://127.0.0.2:8080/watch", "http://127.0.0.2:8080/clip.mp4")
    assert a["id"] == b["id"] == "watch-1"  # what the key used to be made of
    keys = {media_key(info, trusted_id(info, [info["webpage_url"]])) for info in (a, b)}
    assert len(keys) == 2 and all(key.startswith("media-url:") for key in keys)
    same_page_other_file = {**a, "url": "http://127.0.0.1:8080/corp/recordings/other.mp4"}
    assert media_key(same_page_other_file, False) != media_key(a, False)
    # Through another proxy one host name may reach another machine.
    assert media_key(a, False, "http://proxy.example:3128") != media_key(a, False)
    assert media_key(a, False) == media_key(dict(a), False)
    assert len(media_id_for_key(media_key(a, False))) == 32


def test_a_picture_and_sound_pair_is_keyed_by_both_files():
    page = "http://127.0.0.1:8080/talk.html"
    pair = [{"format_id": "v", "url": "http://127.0.0.1:8080/v.mp4"}, {"format_id": "a", "url": "http://127.0.0.1:8080/a.m4a"}]
    info = {"extractor_key": "Generic", "id": "talk", "webpage_url": page, "requested_formats": pair}
    other_sound = {**info, "requested_formats": [pair[0], {**pair[1], "url": "http://127.0.0.1:8080/b.m4a"}]}
    assert media_key(info, False) != media_key(other_sound, False)
    assert "http://127.0.0.1:8080/a.m4a" in media_key(info, False)


def test_url_aliases_are_kept_per_proxy(tmp_path):
    store = MediaStore(tmp_path)
    media_id = media_id_for_key("extractor-id:youtube:dQw4w9WgXcQ")
    work = store.new_work_dir()
    (work / "video.mp4").write_bytes(b"data")
    store.commit(media_id, work, {"result": {}, "video_file": "video.mp4"})
    url = "http://intranet.example/watch.html"
    store.set_alias(url, media_id, "http://proxy-a.example:3128")
    assert store.media_id_by_alias(url, "http://proxy-a.example:3128") == media_id
    assert store.media_id_by_alias(url, "http://proxy-b.example:3128") is None
    assert store.media_id_by_alias(url) is None
    store.set_alias(url, media_id)
    assert store.media_id_by_alias(f" {url} ") == media_id


def test_aliases_of_the_earlier_store_are_dropped(tmp_path):
    legacy = tmp_path / ".aliases"
    legacy.mkdir()
    (legacy / ("0" * 32)).write_text("1" * 32)
    MediaStore(tmp_path)
    assert not legacy.exists()
