"""The no-keys warning names the address the gateway listens on, not whatever PORT says: honcho
(`make run`) sets PORT for every process, while the gateway is bound with uvicorn's --port."""

from tests.support.polling import wait_until
from tests.support.processes import free_port, run_service

WARNING = "anyone who can reach"


def test_the_warning_names_the_port_the_gateway_is_bound_to(tmp_path):
    log = tmp_path / "gateway.log"
    port = free_port()
    with run_service("gateway.app:create_app", port, env={"PORT": "9400"}, health_path="/", log=log):
        wait_until(lambda: WARNING in log.read_text(), within=10, what="the gateway never warned of missing keys")
    warnings = [line for line in log.read_text().splitlines() if WARNING in line]
    assert len(warnings) == 1, warnings
    assert warnings[0].endswith(f"{WARNING} 127.0.0.1:{port} may use the API"), warnings
    assert "9400" not in log.read_text()
