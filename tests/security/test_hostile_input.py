"""Hostile requests against the real gateway (real orchestrator on PostgreSQL, real media service).

Malformed JSON, bodies over MAX_REQUEST_BODY_KB (with and without Content-Length), wrong types, deep
nesting, hostile URLs (unicode, IDN, RTL override, NUL, lone surrogates), hostile paths and queries,
huge headers and non-UTF-8 bytes. Each must get a clear 4xx answer: JSON with a reason (`detail`, or
the OpenAI `error` shape under /v1), never a 5xx, never a traceback or an internal address; and the
stored tasks must be exactly what they were (the public list of every owner, and the rows counted
in PostgreSQL), with no unhandled error in the gateways' logs.

Requests the HTTP parser itself cannot read (raw non-ASCII bytes in the request line, a Content-Length
that is not a number, Content-Length together with Transfer-Encoding) never reach the app; uvicorn
answers those with a plain-text 400, which is accepted here as long as it is a 4xx without a traceback.
"""

import json
import socket

import httpx
import pytest

from .conftest import ALICE_KEY, BOB_KEY, MAX_REQUEST_BODY_KB, WRONG_KEY, bearer, call_passed

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
LIMIT = MAX_REQUEST_BODY_KB * 1024
JSON = {"Content-Type": "application/json"}


# --- helpers -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def internal_addresses(security_stack) -> list[str]:
    return [f"127.0.0.1:{security_stack.ports[name]}" for name in ("orchestrator", "media", "lite")]


@pytest.fixture(scope="module")
def open_api(open_url):
    # A server may drop a keep-alive connection after a failure; one connection per request keeps
    # one bad answer from turning the next request into a connection error.
    with httpx.Client(base_url=open_url, timeout=30, headers={"Connection": "close"}) as http:
        yield http


@pytest.fixture(scope="module")
def keyed_api(keyed_url):
    with httpx.Client(base_url=keyed_url, timeout=30, headers={"Connection": "close"}) as http:
        yield http


@pytest.fixture(scope="module")
def seeded(open_api, keyed_api):
    """A few stored tasks for the hostile requests to leave alone: two anonymous, one each for alice and bob."""
    for client, headers in ((open_api, {}), (open_api, {}), (keyed_api, bearer(ALICE_KEY)),
                            (keyed_api, {"X-API-Key": BOB_KEY})):
        response = client.post("/analyze", json={"youtube_url": VIDEO, "max_frames": 2}, headers=headers)
        assert response.status_code == 200, response.text


def _stored(open_api, keyed_api, task_rows) -> dict:
    views = {}
    for owner, client, headers in (("anonymous", open_api, {}), ("alice", keyed_api, bearer(ALICE_KEY)),
                                   ("bob", keyed_api, bearer(BOB_KEY))):
        response = client.get("/tasks", params={"limit": 1000}, headers=headers)
        if response.status_code == 503:
            # After the orchestrator fails a request it drops that keep-alive connection, and the gateway's
            # next call on it can fail once ("could not be reached"); that is reported by the test that
            # caused the failure, so this read gets one more try.
            response = client.get("/tasks", params={"limit": 1000}, headers=headers)
        assert response.status_code == 200, response.text
        views[owner] = response.json()
    return {"api": views, "rows": task_rows()}


@pytest.fixture(autouse=True)
def tasks_unchanged(request, seeded, open_api, keyed_api, task_rows, gateway_logs, security_stack):
    """Around every test: the stored tasks are the same afterwards, and no gateway logged an unhandled error
    (checked only when the test itself passed: a failed one has already said what went wrong)."""
    before = _stored(open_api, keyed_api, task_rows)
    assert sum(before["rows"].values()) == 4
    log_offset = len(gateway_logs())
    yield
    for name in ("orchestrator", "media", "gateway", "gateway-keyed"):
        assert security_stack.processes[name].poll() is None, f"{name} exited"
    assert _stored(open_api, keyed_api, task_rows) == before
    if call_passed(request.node):
        errors = [line for line in gateway_logs()[log_offset:].splitlines()
                  if "unhandled error" in line or line.startswith(("Traceback", "ERROR"))]
        assert not errors, errors


def assert_refused(response: httpx.Response, status: int | tuple[int, ...] | None = None,
                   internal: list[str] = ()) -> dict:
    """A clear 4xx: JSON with a reason in the gateway's shape, nothing internal in it. Returns the body."""
    text = response.text
    assert 400 <= response.status_code < 500, f"{response.status_code}: {text[:500]}"
    if status is not None:
        assert response.status_code in ((status,) if isinstance(status, int) else status), text[:500]
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    reason = body["error"]["message"] if response.request.url.path.startswith("/v1/") else body["detail"]
    assert reason, body
    for leak in ("Traceback", 'File "/', "site-packages", *internal):
        assert leak not in text, f"{leak!r} in {text[:500]}"
    return body


def assert_protocol_refusal(raw: bytes) -> int:
    """A request the HTTP server refused before the app: a 4xx, JSON or uvicorn's plain text, no traceback."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert 400 <= status < 500, raw[:500]
    assert b"Traceback" not in body and b'File "/' not in body, raw[:500]
    return status


def send_raw(url: str, request: bytes, timeout: float = 20) -> bytes:
    """Send bytes as they are (no client library tidying them up) and read the whole answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return answer


def post_json_bytes(client: httpx.Client, path: str, body: bytes, **headers) -> httpx.Response:
    return client.post(path, content=body, headers={**JSON, **headers})


# --- malformed JSON --------------------------------------------------------------------------------------

MALFORMED = {
    "unterminated object": b'{"youtube_url": ',
    "missing value": b'{"youtube_url": }',
    "trailing comma": b'{"youtube_url": "%s",}' % VIDEO.encode(),
    "single quotes": b"{'youtube_url': '%s'}" % VIDEO.encode(),
    "trailing garbage": b'{"youtube_url": "%s"} {"x": 1}' % VIDEO.encode(),
    "comment": b'{"youtube_url": "%s" /* hi */}' % VIDEO.encode(),
    "empty body": b"",
    "whitespace only": b" \n\t ",
    "array": b"[]",
    "null": b"null",
    "bare string": b'"%s"' % VIDEO.encode(),
    "number": b"42",
    "NaN in max_frames": b'{"youtube_url": "%s", "max_frames": NaN}' % VIDEO.encode(),
    "Infinity in max_frames": b'{"youtube_url": "%s", "max_frames": Infinity}' % VIDEO.encode(),
    "1e999 in max_frames": b'{"youtube_url": "%s", "max_frames": 1e999}' % VIDEO.encode(),
    "5000-digit max_frames": b'{"youtube_url": "%s", "max_frames": %s}' % (VIDEO.encode(), b"9" * 5000),
    "4000-digit max_frames": b'{"youtube_url": "%s", "max_frames": %s}' % (VIDEO.encode(), b"9" * 4000),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_json_is_refused(open_api, internal_addresses, body):
    assert_refused(post_json_bytes(open_api, "/analyze", body), internal=internal_addresses)


MALFORMED_CHAT = {
    "unterminated object": b'{"model": ',
    "array": b"[]",
    "model not a string": b'{"model": 7, "messages": []}',
    "NaN, unknown model": b'{"model": "no-such-model", "temperature": NaN, "messages": []}',
    "lone surrogate in model": b'{"model": "\\ud800", "messages": []}',
    "nested 5000 deep": b'{"model": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "not UTF-8": b'{"model": "\xff\xfe", "messages": []}',
}


@pytest.mark.parametrize("body", MALFORMED_CHAT.values(), ids=MALFORMED_CHAT.keys())
def test_malformed_chat_completion_is_refused_in_openai_shape(open_api, internal_addresses, body):
    """The passthrough parses the body itself (to route on `model`) before any model server is involved."""
    assert_refused(post_json_bytes(open_api, "/v1/chat/completions", body), internal=internal_addresses)


# --- body size -------------------------------------------------------------------------------------------


def _padded_body(size: int) -> bytes:
    """A JSON object of exactly `size` bytes that the API would refuse on its merits (max_frames is a string)."""
    head = b'{"youtube_url": "%s", "max_frames": "x"' % VIDEO.encode()
    return head + b" " * (size - len(head) - 1) + b"}"


def test_body_over_the_limit_with_content_length(open_api):
    response = post_json_bytes(open_api, "/analyze", _padded_body(LIMIT + 1))
    body = assert_refused(response, 413)
    assert "MAX_REQUEST_BODY_KB" in body["detail"]


def test_body_at_the_limit_is_read(open_api):
    # Exactly the limit is allowed: the answer is about the content (max_frames), not the size.
    body = assert_refused(post_json_bytes(open_api, "/analyze", _padded_body(LIMIT)), 422)
    assert body["detail"][0]["loc"] == ["body", "max_frames"]


def test_chunked_body_over_the_limit_without_content_length(open_api):
    payload = _padded_body(4 * LIMIT)

    def chunks():
        for start in range(0, len(payload), 8192):
            yield payload[start:start + 8192]

    request = open_api.build_request("POST", "/analyze", content=chunks(), headers=JSON)
    assert "content-length" not in request.headers and request.headers["transfer-encoding"] == "chunked"
    assert_refused(open_api.send(request), 413)


def test_declared_length_over_the_limit_is_refused_before_the_body_arrives(open_url):
    # Only 2 bytes follow a Content-Length of 10 MB: the answer must not wait for the rest.
    answer = send_raw(open_url, b"POST /analyze HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
                                b"Content-Length: 10485760\r\nConnection: close\r\n\r\n{}", timeout=10)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"MAX_REQUEST_BODY_KB" in answer


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/tasks"), ("DELETE", "/tasks/00000000-0000-0000-0000-000000000000"), ("GET", "/health"),
    ("POST", "/tasks"),
])
def test_oversized_bodies_are_refused_on_every_route(open_api, method, path):
    assert_refused(open_api.request(method, path, content=b"x" * (LIMIT + 1)), 413)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_upload_over_max_upload_mb_is_refused(open_api, chunked):
    """The gateway runs with MAX_UPLOAD_MB=1 here (conftest): a 3 MB file is refused either way."""
    boundary = "hostile-boundary"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
               f"Content-Type: video/mp4\r\n\r\n").encode() + b"\0" * (3 * 2**20) + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    content = (payload[i:i + 65536] for i in range(0, len(payload), 65536)) if chunked else payload
    assert_refused(open_api.post("/uploads", content=content, headers=headers), 413)


# --- wrong types -----------------------------------------------------------------------------------------

WRONG_TYPES = [
    ("youtube_url", 123), ("youtube_url", None), ("youtube_url", ["https://youtu.be/x"]), ("youtube_url", {"u": 1}),
    ("youtube_url", True), ("max_frames", "8"), ("max_frames", 8.0), ("max_frames", 8.5), ("max_frames", True),
    ("max_frames", 0), ("max_frames", -1), ("max_frames", 10**30), ("max_frames", [8]),
    ("vision_quantization", "int3"), ("vision_quantization", 4), ("text_quantization", None),
    ("text_quantization", "INT4 "), ("frame_strategy", "random"), ("proxy", 9050), ("proxy", ["socks5://x"]),
    ("transcript_languages", "en"), ("transcript_languages", [1]), ("transcript_languages", ["e" * 100]),
    ("transcript_languages", ["en"] * 11), ("language", 5), ("language", "x"), ("language", "en; DROP TABLE"),
    ("prompt", 1), ("prompt", "p" * 2001), ("prompt", {"role": "system"}),
]


@pytest.mark.parametrize(("field", "value"), WRONG_TYPES, ids=[f"{f}={json.dumps(v)[:24]}" for f, v in WRONG_TYPES])
def test_wrong_types_are_refused_naming_the_field(open_api, internal_addresses, field, value):
    response = open_api.post("/analyze", json={"youtube_url": VIDEO, field: value})
    body = assert_refused(response, 422, internal=internal_addresses)
    assert any(error["loc"][:2] == ["body", field] for error in body["detail"]), body


# --- deep nesting ----------------------------------------------------------------------------------------

NESTED = {
    "youtube_url 200 deep": b'{"youtube_url": %s}' % (b"[" * 200 + b"]" * 200),
    "youtube_url 900 deep": b'{"youtube_url": %s}' % (b"[" * 900 + b"]" * 900),
    "youtube_url 5000 deep": b'{"youtube_url": %s}' % (b"[" * 5000 + b"]" * 5000),
    "objects 3000 deep": b'{"youtube_url": "%s", "x": %s}' % (VIDEO.encode(), b'{"a":' * 3000 + b"1" + b"}" * 3000),
    "prompt 30000 deep": b'{"youtube_url": "%s", "prompt": %s}' % (VIDEO.encode(), b"[" * 30000 + b"]" * 30000),
    "unclosed 30000 deep": b"[" * 30000,
}


@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
def test_deeply_nested_json_is_refused(open_api, internal_addresses, body):
    assert len(body) <= LIMIT
    assert_refused(post_json_bytes(open_api, "/analyze", body), internal=internal_addresses)


# --- hostile URLs ----------------------------------------------------------------------------------------

HOSTILE_URLS = {
    "RTL override": "https://www.youtube.com/watch?v=abc\u202egnp.exe",
    "RTL override in host": "https://www.you\u202etube.com/watch?v=abc",
    "NUL": "https://www.youtube.com/watch?v=abc\u0000.evil.example",
    "NUL in host": "https://www.youtube.com\u0000.evil.example/",
    "zero-width space": "https://www.you\u200btube.com/",
    "soft hyphen": "https://www.youtube.com/watch?v=x\u00ad",
    "byte order mark": "\ufeffhttps://www.youtube.com/",
    "line separator": "https://www.youtube.com/\u2028",
    "CRLF injection": "https://www.youtube.com/watch?v=x\r\nX-Injected: 1",
    "tab": "https://www.youtube.com/\twatch",
    "leading space": " https://www.youtube.com/watch?v=x",
    "lone surrogate": "https://www.youtube.com/watch?v=\ud800",
    "credentials": "https://user:pass@www.youtube.com/",
    "youtube as user name": "https://www.youtube.com@evil.example/watch?v=x",
    "javascript": "javascript:alert(1)",
    "file": "file:///etc/passwd",
    "gopher": "gopher://127.0.0.1:25/",
    "no scheme": "www.youtube.com/watch?v=x",
    "no host": "https:///watch?v=x",
    "empty": "",
    "bad port": "https://www.youtube.com:99999/",
    "unclosed IPv6": "http://[::1",
    "invalid punycode": "https://xn--/",
    "empty label": "https://www..youtube.com/",
    "underscore host": "https://exa_mple.com/",
    "numeric non-IP": "https://999.1.1.1/",
    "hyphen label": "https://-youtube-.com/",
    "option-looking": "--exec=rm -rf /",
    "upload id too short": "upload://abc",
    "upload path traversal": "upload://../../etc/passwd",
    "too long": "https://www.youtube.com/watch?v=" + "a" * 2048,
}


def _json_with_escapes(value: str) -> bytes:
    # json.dumps escapes lone surrogates and control characters as \uXXXX, which is how a client sends them.
    return json.dumps({"youtube_url": value}).encode("ascii")


@pytest.mark.parametrize("url", HOSTILE_URLS.values(), ids=HOSTILE_URLS.keys())
def test_hostile_video_urls_are_refused(open_api, internal_addresses, url):
    body = assert_refused(post_json_bytes(open_api, "/analyze", _json_with_escapes(url)), 422,
                          internal=internal_addresses)
    assert body["detail"][0]["loc"] == ["body", "youtube_url"], body


INTERNATIONAL_URLS = {
    "IDN host": "https://例え.テスト/watch?v=1",
    "umlaut host": "https://bücher.example/video",
    "unicode query": "https://www.youtube.com/watch?v=ü&t=名前",
    "RTL script path": "https://www.youtube.com/\u05e9\u05dc\u05d5\u05dd",
    "emoji path": "https://www.youtube.com/watch?v=\U0001f600",
    "percent-encoded NUL": "https://www.youtube.com/watch?v=%00",
}


@pytest.mark.parametrize("url", INTERNATIONAL_URLS.values(), ids=INTERNATIONAL_URLS.keys())
def test_international_urls_are_accepted_and_stored_verbatim(open_api, url):
    """Unicode that is not a control or format character is a legitimate URL: stored and shown as sent.
    (The task is deleted again, so the stored tasks end as they began.)"""
    response = post_json_bytes(open_api, "/analyze", _json_with_escapes(url))
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    try:
        assert open_api.get(f"/tasks/{task_id}").json()["youtube_url"] == url
    finally:
        assert open_api.delete(f"/tasks/{task_id}").status_code == 200


# --- hostile paths and queries ---------------------------------------------------------------------------

HOSTILE_PATHS = [
    ("GET", "/tasks/%00"), ("GET", "/tasks/%ED%A0%80"), ("GET", "/tasks/%FF%FE"), ("DELETE", "/tasks/%FF%FE"),
    ("GET", "/tasks/..%2F..%2Fetc%2Fpasswd"), ("DELETE", "/tasks/..%2F..%2Finternal%2Ftasks"),
    ("GET", "/tasks/%E2%80%AE00000000-0000-0000-0000-000000000000"),
    ("GET", "/tasks/00000000-0000-0000-0000-000000000000%00"), ("GET", "/tasks/" + "9" * 5000),
    ("GET", "/tasks/%FF/frames/1.jpg"), ("GET", "/tasks/00000000-0000-0000-0000-000000000000/frames/%FF.jpg"),
    ("GET", "/tasks/00000000-0000-0000-0000-000000000000/frames/99999999999999999999999.jpg"),
    ("GET", "/tasks/00000000-0000-0000-0000-000000000000/frames/-1.jpg"),
    ("GET", "/tasks?limit=%FF"), ("GET", "/tasks?limit=-1"), ("GET", "/tasks?limit=0"), ("GET", "/tasks?limit=1e3"),
    ("GET", "/tasks?limit=99999999999999999999999999"), ("GET", "/tasks?offset=-1"), ("GET", "/tasks?offset=%00"),
    ("GET", "/tasks?limit=NaN"),
    # No larger offset can name a task; PostgreSQL's OFFSET is a bigint.
    ("GET", "/tasks?offset=9223372036854775808"), ("GET", "/tasks?offset=" + "9" * 30),
    ("GET", "/v1/models/%ED%A0%80"), ("GET", "/v1/models/%00"),
    ("GET", "/internal/tasks"), ("GET", "/%2e%2e/internal/tasks"),
]


@pytest.mark.parametrize(("method", "path"), HOSTILE_PATHS, ids=[f"{m} {p[:60]}" for m, p in HOSTILE_PATHS])
def test_hostile_paths_and_queries_are_refused(open_api, internal_addresses, method, path):
    assert_refused(open_api.request(method, path), (404, 405, 422), internal=internal_addresses)


@pytest.mark.parametrize("request_line", [b"GET /tasks/\xff\xfe HTTP/1.1", b"GET /tasks?limit=\xff HTTP/1.1",
                                          b"GET /tasks/\x00 HTTP/1.1"], ids=["raw path", "raw query", "raw NUL"])
def test_raw_non_ascii_request_targets_are_refused(open_url, request_line):
    assert_protocol_refusal(send_raw(open_url, request_line + b"\r\nHost: gateway\r\nConnection: close\r\n\r\n"))


@pytest.mark.parametrize("framing", [
    b"Content-Length: abc\r\n",
    b"Content-Length: -1\r\n",
    b"Content-Length: 99999999999999999999999\r\n",
    b"Content-Length: 2\r\nContent-Length: 40\r\n",
    b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip, chunked, identity\r\n",
], ids=["not a number", "negative", "huge", "two lengths", "length and chunked", "odd transfer-encoding"])
def test_broken_body_framing_is_refused(open_url, framing):
    """The shapes request smuggling relies on never reach a route."""
    body = b'{"youtube_url": "%s"}' % VIDEO.encode()
    request = (b"POST /analyze HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n" + framing
               + b"Connection: close\r\n\r\n" + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert_protocol_refusal(send_raw(open_url, request))


# --- huge headers ----------------------------------------------------------------------------------------


def test_huge_credentials_are_refused(keyed_api, internal_addresses):
    for headers in (bearer("k" * 60000), {"X-API-Key": "k" * 60000}, {"Authorization": "Bearer " + ALICE_KEY * 3000},
                    {"Authorization": "Bearer " + ALICE_KEY + " " + ALICE_KEY}):
        body = assert_refused(keyed_api.get("/tasks", headers=headers), 401, internal=internal_addresses)
        assert ALICE_KEY not in json.dumps(body)


def test_huge_idempotency_key_is_refused(open_api):
    response = open_api.post("/analyze", json={"youtube_url": VIDEO}, headers={"Idempotency-Key": "k" * 60000})
    body = assert_refused(response, 422)
    assert body["detail"][0]["loc"] == ["header", "idempotency-key"]


@pytest.mark.parametrize("headers", [
    b"X-Padding: " + b"a" * (1 << 20) + b"\r\n",
    b"".join(b"X-Header-%d: v\r\n" % i for i in range(10000)),
], ids=["one 1 MB header", "10000 headers"])
def test_oversized_header_blocks_are_refused(open_url, headers):
    """A header block far beyond what any client sends (1 MB; 10,000 fields) is refused (431 or 400), not read
    into memory and served: common servers stop at 8-64 KB."""
    answer = send_raw(open_url, b"GET /tasks HTTP/1.1\r\nHost: gateway\r\n" + headers + b"Connection: close\r\n\r\n")
    assert assert_protocol_refusal(answer) in (400, 431)


# --- non-UTF-8 bytes -------------------------------------------------------------------------------------

NON_UTF8_BODIES = {
    "invalid UTF-8 in a string": b'{"youtube_url": "https://www.youtube.com/watch?v=\xff\xfe"}',
    "latin-1 declared": b'{"youtube_url": "https://www.youtube.com/watch?v=caf\xe9"}',
    "overlong NUL": b'{"youtube_url": "https://www.youtube.com/\xc0\x80"}',
    "UTF-8 surrogate bytes": b'{"youtube_url": "https://www.youtube.com/\xed\xa0\x80"}',
    "binary garbage": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("body", NON_UTF8_BODIES.values(), ids=NON_UTF8_BODIES.keys())
def test_non_utf8_bodies_are_refused(open_api, internal_addresses, body):
    charset = "; charset=latin-1" if b"caf\xe9" in body else ""
    response = open_api.post("/analyze", content=body, headers={"Content-Type": "application/json" + charset})
    assert_refused(response, internal=internal_addresses)


def test_non_utf8_header_values_are_refused(keyed_api, open_api):
    for headers in ({"X-API-Key": b"\xff\xfe\xfd-not-a-key"}, {"Authorization": b"Bearer \xe9\xe9\xe9\xe9\xe9\xe9\xe9"},
                    {"Authorization": b"Bearer " + ALICE_KEY.encode() + b"\xff"}, {"X-API-Key": WRONG_KEY.encode()}):
        assert_refused(keyed_api.get("/tasks", headers=headers), 401)
    response = open_api.post("/analyze", json={"youtube_url": VIDEO}, headers={"Idempotency-Key": b"caf\xe9-\xff"})
    assert assert_refused(response, 422)["detail"][0]["loc"] == ["header", "idempotency-key"]


def test_malformed_multipart_uploads_are_refused(open_api, internal_addresses):
    """Uploads go to the media service; whatever it makes of a broken body, the client gets a 4xx."""
    cases = [
        ({"Content-Type": "multipart/form-data"}, b"no boundary at all"),
        ({"Content-Type": "multipart/form-data; boundary=abc"}, b"--abc\r\nnot a part\r\n"),
        ({"Content-Type": "multipart/form-data; boundary=abc"}, b"\xff\xfe" * 100),
        ({"Content-Type": "multipart/form-data; boundary=abc"},
         b'--abc\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--abc--\r\n'),
        ({"Content-Type": "multipart/form-data; boundary=abc"},
         b'--abc\r\nContent-Disposition: form-data; name="file"; filename="../../etc/passwd\x00.mp4"\r\n\r\n'
         b"not a video\r\n--abc--\r\n"),
        ({"Content-Type": "application/json"}, b'{"file": "x"}'),
    ]
    for headers, body in cases:
        assert_refused(open_api.post("/uploads", content=body, headers=headers), internal=internal_addresses)
