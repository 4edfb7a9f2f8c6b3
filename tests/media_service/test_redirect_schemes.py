"""Fetches that can never succeed fail at once with a permanent error (422, retryable false): a
redirect to a URL that is not http(s) (the origin is asked once), a certificate that does not verify."""

import ssl
import subprocess
import time

import pytest

from tests.support.http_server import serving

from .redirecting_origin import RedirectingOrigin, redirecting_origin
from .test_media_api import assert_one_line_error, download

TARGETS = {
    "file": "file:///etc/passwd",
    "ftp": "ftp://127.0.0.1:21/clip.mp4",
    "gopher": "gopher://127.0.0.1:70/_stats",
    "data": "data:text/plain,hello",
}


@pytest.fixture(scope="module")
def redirector(tmp_path_factory):
    with redirecting_origin(tmp_path_factory.mktemp("redirects")) as server:
        yield server


@pytest.mark.parametrize("target", TARGETS.values(), ids=TARGETS.keys())
def test_a_redirect_to_another_scheme_is_a_permanent_failure(service, redirector, target):
    path = redirector.redirect_path(target)
    started = time.monotonic()
    response = download(service, redirector.base + path)
    elapsed = time.monotonic() - started
    detail = assert_one_line_error(response, 422)
    assert detail == (f"download failed: the server redirected to {target}; "
                      "only redirects to http and https URLs are followed")
    assert response.json()["retryable"] is False
    assert redirector.count(path) == 1  # one request, no retry inside the fetch
    assert elapsed < 15, f"took {elapsed:.1f} s"


@pytest.fixture(scope="module")
def self_signed_origin(tmp_path_factory):
    """An HTTPS origin on 127.0.0.1 whose certificate no trust store knows."""
    root = tmp_path_factory.mktemp("tls")
    key, cert = root / "key.pem", root / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    server = RedirectingOrigin(root)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with serving(server):
        yield server


def test_a_certificate_that_does_not_verify_is_a_permanent_failure(service, self_signed_origin):
    url = self_signed_origin.base.replace("http://", "https://") + "/clip.mp4"
    detail = assert_one_line_error(download(service, url), 422)
    assert detail.startswith("download failed: the server's TLS certificate is not valid:"), detail
    assert "CERTIFICATE_VERIFY_FAILED" in detail or "certificate verify failed" in detail, detail
