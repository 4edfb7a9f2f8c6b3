"""Schemathesis against the real gateway (real orchestrator on PostgreSQL, real media service behind it).

Every operation of the gateway's OpenAPI document is exercised with schema-valid and schema-breaking
requests (examples, coverage and fuzzing phases), once against a gateway without API keys and once
against a gateway with API_KEYS, with a valid key. Each answer must be:

- never a server error (5xx), the stack being up the whole time;
- documented: its status code is listed for the operation, its body matches the documented schema
  and content type, its headers match;
- a 4xx for input the schema rules out (negative data rejection), and 405 for methods not offered;
- with keys: a 401 when the same request is sent without the key or with a wrong one (ignored_auth),
  and, in `test_protected_operations_refuse_missing_and_wrong_keys`, a 401 with `WWW-Authenticate: Bearer`
  and a JSON reason for every protected operation.

The schema fuzzed is built in this process from `gateway.app.create_app` (schemathesis's lazy
`from_fixture` loader does not run under pytest 9.2); `test_served_schema_is_the_one_fuzzed` checks
that both running gateways serve exactly that document at /openapi.json.

Bounded and repeatable: a fixed seed, derandomized generation, no example database, no deadline,
a few fuzzed examples per operation. Checks left out, and why:

- positive_data_acceptance: the schema cannot say everything the server checks (a youtube_url must be
  an http(s) URL naming a valid host, max_frames is capped by the server's MAX_FRAMES_LIMIT), so
  schema-valid bodies are rightly answered 422;
- allow_header_conformance: Starlette's 405 lists only the methods of the first route that matches the
  path (GET /tasks/{task_id} says `Allow: GET` without DELETE), a framework limitation that does not
  change what a client may do;
- ignored_auth, on the gateway without keys only: its operations declare the key schemes (they apply
  when the operator sets API_KEYS), and without keys anyone may call them, by design.
"""

import pytest
import requests
import schemathesis
from schemathesis import Config

from gateway.app import create_app
from gateway.config import GatewaySettings

from .conftest import ALICE_KEY, WRONG_KEY, bearer

SEED = 20240611
MAX_EXAMPLES = 50  # fuzzed cases per operation and run, on top of the examples and coverage phases

RAW_SCHEMA = create_app(GatewaySettings(host="127.0.0.1")).openapi()


def _config(*, ignored_auth: bool, max_examples: int = MAX_EXAMPLES, modes: str = "all",
            coverage: bool = True) -> Config:
    return Config.from_dict({
        "seed": SEED,
        "generation": {"mode": modes, "max-examples": max_examples, "deterministic": True, "database": "none"},
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            "allow_header_conformance": {"enabled": False},
            "ignored_auth": {"enabled": ignored_auth},
        },
        "phases": {"coverage": {"enabled": coverage}, "stateful": {"enabled": False}},
        "request-timeout": 30,
        # Report every distinct failure of an operation, not only the first.
        "continue-on-failure": True,
    })


open_schema = schemathesis.openapi.from_dict(RAW_SCHEMA, config=_config(ignored_auth=False))
keyed_schema = schemathesis.openapi.from_dict(RAW_SCHEMA, config=_config(ignored_auth=True))
# One or two plain, schema-valid requests per operation, sent without a key or with a wrong one.
refusal_schema = schemathesis.openapi.from_dict(
    RAW_SCHEMA, config=_config(ignored_auth=False, max_examples=2, modes="positive", coverage=False))

PROTECTED = sorted(
    f"{method.upper()} {path}"
    for path, operations in RAW_SCHEMA["paths"].items()
    for method, operation in operations.items()
    if operation.get("security")
)


@pytest.fixture(scope="module")
def session():
    with requests.Session() as http:
        yield http


def test_served_schema_is_the_one_fuzzed(open_url, keyed_url, session):
    for url in (open_url, keyed_url):
        assert session.get(f"{url}/openapi.json", timeout=30).json() == RAW_SCHEMA
    # Sanity: the operations that need a key when API_KEYS is set are the ones that declare it.
    assert "GET /health" not in PROTECTED and "GET /" not in PROTECTED
    assert {"POST /analyze", "GET /tasks", "GET /tasks/{task_id}", "DELETE /tasks/{task_id}", "POST /uploads",
            "GET /v1/models", "POST /v1/chat/completions"} <= set(PROTECTED)
    schemes = RAW_SCHEMA["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["HTTPBearer"].items()
    assert {"type": "apiKey", "in": "header", "name": "X-API-Key"}.items() <= schemes["APIKeyHeader"].items()


@open_schema.parametrize()
def test_fuzz_gateway_without_keys(case, open_url, session):
    case.call_and_validate(base_url=open_url, session=session)


@keyed_schema.parametrize()
def test_fuzz_gateway_with_a_valid_key(case, keyed_url, session):
    case.call_and_validate(base_url=keyed_url, session=session, headers=bearer(ALICE_KEY))


REFUSED_WITH = {
    "no key": {},
    "wrong bearer": bearer(WRONG_KEY),
    "wrong X-API-Key": {"X-API-Key": WRONG_KEY},
    "valid key, wrong scheme": {"Authorization": f"Basic {ALICE_KEY}"},
}


@refusal_schema.parametrize()
def test_protected_operations_refuse_missing_and_wrong_keys(case, keyed_url, session):
    label = f"{case.method.upper()} {case.operation.path}"
    for name in ("Authorization", "X-API-Key"):  # whatever the generator filled in for the declared schemes
        (case.headers or {}).pop(name, None)
    for scenario, headers in REFUSED_WITH.items():
        response = case.call(base_url=keyed_url, session=session, headers=headers)
        if label not in PROTECTED:
            assert response.status_code < 500, (scenario, response.status_code, response.text)
            continue
        assert response.status_code == 401, (label, scenario, response.status_code, response.text)
        assert response.headers.get("www-authenticate") == ["Bearer"], (label, scenario, response.headers)
        body = response.json()
        reason = body["error"]["message"] if case.operation.path.startswith("/v1/") else body["detail"]
        assert isinstance(reason, str) and "API key" in reason, (label, scenario, body)
        assert ALICE_KEY not in response.text and WRONG_KEY not in response.text


def test_refusals_are_documented():
    """Every protected operation can answer 401 (no or wrong key) and 429 (RATE_LIMIT, and for POST /analyze
    ACTIVE_TASKS_PER_KEY): clients and generated SDKs learn the answers they must handle from the document."""
    missing = {}
    for path, operations in RAW_SCHEMA["paths"].items():
        for method, operation in operations.items():
            if operation.get("security"):
                absent = [code for code in ("401", "429") if code not in operation["responses"]]
                if absent:
                    missing[f"{method.upper()} {path}"] = absent
    assert not missing, f"undocumented refusals: {missing}"
