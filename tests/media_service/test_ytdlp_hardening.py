"""yt-dlp as the fetch process runs it: a recent release, no external programs or downloaders, no
credentials, cookies, plugins or config files, and no fetch at all without the connection guard."""

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest
from yt_dlp.downloader import get_suitable_downloader
from yt_dlp.downloader.external import ExternalFD, FFmpegFD

from media_service.fetch.incidents import Incidents
from media_service.fetch.ytdlp_options import download_options, fetch_options
from tests.support.netguard import netguard_env
from tests.support.processes import REPO
from tests.support.videos import FFMPEG

from .conftest import counting_server, media_service
from .ssrf_fixtures import guarded_service

YT_DLP_FLOOR = (2026, 7, 4)  # the first release with the fixes the security review asked for
JOB = {"out_dir": "/nonexistent", "max_bytes": 2**20, "max_duration_s": 60}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3])


def test_installed_yt_dlp_is_at_least_the_floor():
    assert _version(importlib.metadata.version("yt-dlp")) >= YT_DLP_FLOOR


def test_the_dependency_floor_says_so():
    project = tomllib.loads((REPO / "media-service" / "pyproject.toml").read_text())
    floors = [re.fullmatch(r"yt-dlp>=([\d.]+)", d) for d in project["project"]["dependencies"]]
    (floor,) = [m.group(1) for m in floors if m]
    assert _version(floor) >= YT_DLP_FLOOR


@pytest.mark.parametrize(
    "options", [download_options(JOB, Incidents()), fetch_options(JOB, Incidents())], ids=["download", "fetch"]
)
def test_no_programs_credentials_or_cookies(options):
    assert options.get("postprocessors", []) == []
    assert not {"exec_cmd", "exec_before_dl_cmd", "netrc_cmd", "netrc_location", "cookiesfrombrowser"} & set(options)
    assert options["usenetrc"] is False and options["cookiefile"] is None
    assert not {"username", "password", "videopassword", "ap_username", "ap_password", "client_certificate"} & set(
        options
    )
    assert "impersonate" not in options and "plugin_dirs" not in options


def test_a_failed_fragment_fails_the_download():
    # Skipping it would turn a refused segment into a gap, and the refusal into a vaguer error.
    assert download_options(JOB, Incidents())["skip_unavailable_fragments"] is False


@pytest.mark.parametrize("protocol", ["http", "https", "m3u8", "m3u8_native", "http_dash_segments"])
def test_every_protocol_is_downloaded_by_yt_dlp_itself(protocol):
    # An external downloader (curl, aria2c, ffmpeg) would connect where the audit hook cannot see.
    options = download_options(JOB, Incidents())
    info = {"url": f"https://example.invalid/v.{'m3u8' if 'm3u8' in protocol else 'mp4'}", "protocol": protocol}
    downloader = get_suitable_downloader(info, options)
    assert not issubclass(downloader, ExternalFD) and downloader is not FFmpegFD, downloader


def test_curl_cffi_is_not_installed():
    # Its requests are made in C (libcurl), out of the audit hook's sight.
    assert importlib.util.find_spec("curl_cffi") is None
    import yt_dlp

    with yt_dlp.YoutubeDL(fetch_options(JOB, Incidents())) as ydl:
        handlers = set(ydl._request_director.handlers)
    assert handlers and not any("curl" in name.lower() for name in handlers), handlers


UNGUARDED_CALLS = """
import json, sys
from media_service.fetch import process as w
job = json.loads(sys.argv[1])
outcomes = {}
for name in ("download", "fetch", "youtube_transcript"):
    try:
        getattr(w, name)(job, w.Incidents())
        outcomes[name] = "ran"
    except w.UnguardedFetch as exc:
        outcomes[name] = str(exc)
    except BaseException as exc:
        outcomes[name] = f"other: {exc!r}"
print(json.dumps(outcomes), file=sys.stderr)
"""


def test_the_worker_refuses_to_fetch_without_the_connection_guard(site, tmp_path):
    with counting_server(site) as origin:
        job = {**JOB, "url": f"{origin.base}/clip.mp4", "out_dir": str(tmp_path), "out_path": str(tmp_path / "s")}
        job |= {"video_id": "aaaaaaaaaaa", "allow_cidrs": ["127.0.0.1/32"]}
        env = {**os.environ, **netguard_env(tmp_path / "breaches.log")}
        done = subprocess.run(
            [sys.executable, "-c", UNGUARDED_CALLS, json.dumps(job)],
            capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
        )
        outcomes = json.loads(done.stderr.strip().splitlines()[-1])
        assert origin.connections == 0
    assert set(outcomes.values()) == {"refusing to fetch: the connection guard is not installed in this process"}


PLUGIN = "open({marker!r}, 'w').write('plugin ran')\n"


def _plant_plugin_and_config(home: Path, marker: Path) -> dict[str, str]:
    config = home / ".config"
    package = config / "yt-dlp" / "plugins" / "marker" / "yt_dlp_plugins" / "extractor"
    package.mkdir(parents=True)
    (package / "marker_ie.py").write_text(PLUGIN.format(marker=str(marker)))
    exec_line = f'--exec "touch {marker}.exec"\n--netrc-cmd "touch {marker}.netrc"\n'
    (config / "yt-dlp" / "config").write_text(exec_line)
    (home / "yt-dlp.conf").write_text(exec_line)
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(config)}


def test_plugins_and_config_files_are_ignored(site, tmp_path):
    home, marker = tmp_path / "home", tmp_path / "marker"
    env = {**os.environ, **netguard_env(tmp_path / "breaches.log"), **_plant_plugin_and_config(home, marker)}
    # The control: plain yt-dlp does run the planted plugin.
    subprocess.run([sys.executable, "-c", "import yt_dlp; yt_dlp.YoutubeDL({'quiet': True})"], env=env, check=True)
    assert marker.read_text() == "plugin ran"
    marker.unlink()

    out = tmp_path / "out"
    out.mkdir()
    with counting_server(site) as origin:
        job = {**JOB, "action": "download", "url": f"{origin.base}/clip.mp4", "out_dir": str(out)}
        job |= {"result_path": str(tmp_path / "result.json"), "allow_cidrs": ["127.0.0.1/32"], "max_bytes": 2**25}
        subprocess.run(
            [sys.executable, "-P", "-m", "media_service.fetch.process"],
            input=json.dumps(job) + "\ngo\n", text=True, env=env, cwd=home, timeout=60, check=True,
            capture_output=True,
        )
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["ok"], result
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("marker")) == []


OPTION_LOOKING_URLS = [
    "--exec=touch {marker}",
    "--exec touch {marker}",
    "-o{marker}",
    "--netrc-cmd=touch {marker}",
    "--output={marker} http://127.0.0.1/",
    "-- --exec=touch {marker}",
]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with guarded_service(tmp_path_factory.mktemp("hardening"), EGRESS_ALLOW_CIDRS="127.0.0.1/32") as running:
        yield running


@pytest.mark.parametrize("template", OPTION_LOOKING_URLS)
def test_option_looking_urls_are_bad_urls_and_run_nothing(service, tmp_path, template):
    marker = tmp_path / "marker"
    response = httpx.post(f"{service.base}/downloads", json={"url": template.format(marker=marker)}, timeout=60)
    assert response.status_code == 422, response.text
    assert re.match(r"download failed: URL scheme '.*' is not supported", response.json()["detail"])
    assert not marker.exists() and list(tmp_path.iterdir()) == []
    assert service.breaches() == []


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("rtmp://origin.example/live/v", "rtmp"),
        ("rtsp://camera.example/stream", "rtsp"),
        ("mms://origin.example/v.wmv", "mms"),
        ("https://origin.example/v.mp4", None),
        ("https://origin.example/v.m3u8", None),
    ],
)
def test_only_protocols_that_yt_dlp_fetches_itself_are_downloaded(url, refused):
    # rtmp, rtsp and mms go to ffmpeg or rtmpdump, whose connections the audit hook never sees.
    from yt_dlp.utils import determine_protocol

    from media_service.fetch.policy import protocol_refusal

    reason = protocol_refusal({"url": url}, determine_protocol)
    assert reason == (f"the video is served over {refused}, which the service does not fetch" if refused else None)


FAKE_FFMPEG = """#!/bin/sh
# Answers yt-dlp's version probe like a real ffmpeg; any other use is logged and fails.
case "$*" in *-bsfs*|*-version*) echo "ffmpeg version 7.1.1 Copyright (c) the FFmpeg developers"; exit 0;; esac
echo "$0 $*" >> "{log}"
exit 1
"""


@pytest.fixture(scope="module")
def encrypted_hls(tmp_path_factory):
    """An AES-128 HLS stream: with no pycryptodomex, yt-dlp hands such a stream to ffmpeg when it
    finds one, and ffmpeg's connections would escape the connection guard."""
    root = tmp_path_factory.mktemp("aes-hls")
    (root / "key.bin").write_bytes(bytes(range(16)))
    (root / "key.info").write_text(f"key.bin\n{root / 'key.bin'}\n")
    args = [FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10", "-t", "2",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "10", "-f", "hls",
            "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type", "vod", "-hls_key_info_file",
            str(root / "key.info"), "-hls_segment_filename", str(root / "seg%d.ts"), str(root / "aes.m3u8")]
    subprocess.run(args, check=True, timeout=120)
    assert "METHOD=AES-128" in (root / "aes.m3u8").read_text()
    return root


def test_an_ffmpeg_on_the_path_is_never_used(encrypted_hls, tmp_path):
    """Operators often have ffmpeg installed: yt-dlp must not find it, whatever the stream."""
    assert importlib.util.find_spec("Cryptodome") is None  # else yt-dlp would decrypt natively anyway
    bin_dir, log = tmp_path / "bin", tmp_path / "ffmpeg-calls.log"
    bin_dir.mkdir()
    for name in ("ffmpeg", "ffprobe"):
        (bin_dir / name).write_text(FAKE_FFMPEG.format(log=log))
        (bin_dir / name).chmod(0o755)
    media_dir = tmp_path / "media"
    media_dir.mkdir()
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    with counting_server(encrypted_hls) as origin, media_service(media_dir, EGRESS_ALLOW_CIDRS="127.0.0.1/32",
                                                                  PATH=path) as service:
        response = httpx.post(f"{service}/downloads", json={"url": f"{origin.base}/aes.m3u8"}, timeout=60)
    assert not log.exists(), log.read_text()
    assert response.status_code == 200, response.text  # decrypted by yt-dlp itself, under the guard
    assert origin.gets.get("/key.bin") == 1
