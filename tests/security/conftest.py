"""A real gateway in front of a real orchestrator on PostgreSQL, for hostile and fuzzed traffic.

The orchestrator runs without workers (RUN_WORKERS=false), so every task a test creates stays
`pending`: nothing downloads, nothing calls a model, and the runs are fast and repeatable. The media
service runs too, so POST /uploads is answered by the real thing (it only stores and probes what it
is sent). No model server runs: /v1/chat/completions for a deployed model answers 503, which no test
here needs to go past. Two gateways share the orchestrator: "gateway" has no API keys,
"gateway-keyed" has API_KEYS. Rate limits are on but far out of reach and the active-task quota is
off (0), so floods of requests are answered on their merits rather than with 429.
"""

import psycopg
import pytest

from tests.support.stack import Stack, running

ALICE_KEY = "alice-key-0001-secret"
BOB_KEY = "bob-key-0002-secret"
API_KEYS = f"alice:{ALICE_KEY},bob:{BOB_KEY}"
WRONG_KEY = "mallory-key-9999-secret"
MAX_REQUEST_BODY_KB = 64

STACK_ENV = {
    "RUN_WORKERS": "false",
    "RATE_LIMIT": "1000000/minute",
    "ACTIVE_TASKS_PER_KEY": "0",
    "MAX_REQUEST_BODY_KB": str(MAX_REQUEST_BODY_KB),
    "MAX_UPLOAD_MB": "1",  # so an upload over the cap is a few MB, not gigabytes
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def security_stack(module_postgres_url, tmp_path_factory):
    """Orchestrator (no workers), media service, an open gateway and a keyed one ("gateway-keyed")."""
    stack = Stack(database_url=module_postgres_url, workdir=tmp_path_factory.mktemp("security"), extra_env=STACK_ENV)
    with running(stack, "orchestrator", "media", "gateway"):
        stack.start_named("gateway-keyed", "gateway", env={"API_KEYS": API_KEYS})
        yield stack


@pytest.fixture(scope="module")
def open_url(security_stack) -> str:
    return security_stack.url("gateway")


@pytest.fixture(scope="module")
def keyed_url(security_stack) -> str:
    return security_stack.url("gateway-keyed")


@pytest.fixture(scope="module")
def task_rows(module_postgres_url):
    """Counts the orchestrator's task rows straight from the database, by owner."""

    def count() -> dict[str, int]:
        with psycopg.connect(module_postgres_url) as conn:
            return dict(conn.execute("SELECT owner, count(*) FROM tasks GROUP BY owner").fetchall())

    return count


@pytest.fixture(scope="module")
def gateway_logs(security_stack):
    """The gateways' log text, to look for tracebacks after hostile traffic."""

    def read() -> str:
        return "\n".join((security_stack.workdir / f"{name}.log").read_text(errors="replace")
                         for name in ("gateway", "gateway-keyed"))

    return read


CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report


def call_passed(item) -> bool:
    report = item.stash.get(CALL_REPORT, None)
    return report is not None and report.passed
