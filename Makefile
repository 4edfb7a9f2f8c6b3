# The front door: `make run` starts everything on localhost, `make test` runs the suite.
PYTHON ?= python3.11
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
PORT ?= 8000

.PHONY: setup run test bench lint lock clean

setup: .venv/.synced

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

.venv/.synced: uv.lock pyproject.toml */pyproject.toml | $(UV)
	$(UV) sync --frozen --all-packages --python $(PYTHON)
	touch $@

$(UV):
	$(MAKE) .tools/bin/uv

# `make run` runs every service of deploy/local/Procfile under scripts/local_stack: a service that exits is
# restarted (backoff 1 s doubling to 30 s), and when make or the runner ends, however (Ctrl-C, SIGTERM,
# a closed terminal, SIGKILL), every service and every child of one is stopped. A taken port is named with
# the process holding it. In the background (`nohup make run > var/run.log 2>&1 &`), `make stop` stops it.
# PORT is the gateway's alone: the other services are not given one.
run stop: RUN_PID_FILE ?= var/run.pid
run: RUN_PROCFILE ?= deploy/local/Procfile
run: GATEWAY_PORT ?= $(PORT)
run: setup
	@mkdir -p var
	@echo "Gateway on http://127.0.0.1:$(GATEWAY_PORT) (API docs at /docs); Ctrl-C stops every service."
	@unset PORT; GATEWAY_PORT=$(GATEWAY_PORT) exec .venv/bin/python -m scripts.local_stack run \
		--parent-pid $$PPID --pid-file $(RUN_PID_FILE) $(RUN_PROCFILE)

# Stops the stack `make run` started (found through RUN_PID_FILE) and waits until every service is gone.
.PHONY: stop
stop:
	@.venv/bin/python -m scripts.local_stack stop --pid-file $(RUN_PID_FILE)

test: setup system-tools
	.venv/bin/python -m pytest

# Benchmarks write their method and figures to docs/benchmarks.md (not part of `make test`).
bench: setup system-tools bench-tools
	.venv/bin/python -m bench.frames_bench --out docs/benchmarks.md
	.venv/bin/python -m bench.vision_bench --out docs/benchmarks.md
	.venv/bin/python -m bench.speech_bench --out docs/benchmarks.md
	.venv/bin/python -m bench.analysis_bench --out docs/benchmarks.md
	.venv/bin/python -m bench.read_bench --out docs/benchmarks.md
	.venv/bin/python -m bench.events_bench --out docs/benchmarks.md

# wrk (Debian's package) loads the API in bench.read_bench; installed with apt when missing (as root).
.PHONY: bench-tools
bench-tools:
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; }

lint: setup
	.venv/bin/ruff check .

lock: | $(UV)
	$(UV) lock --python $(PYTHON)

clean:
	rm -rf .venv .tools var

# Programs from the system the tests need: podman, runc and debootstrap build and run the images in
# tests/deploy/test_podman_smoke.py, Node.js runs the API guide's JavaScript example, espeak-ng speaks the
# speech-to-text tests' audio, Chromium (driven by Playwright) runs the web page and API docs in tests/web.
# Installed with apt
# when missing (as root; elsewhere install them yourself, or set CONTAINER_SMOKE=0 to leave the image test out).
.PHONY: system-tools deploy-smoke
system-tools:
	@command -v node >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs; }
	@command -v espeak-ng >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y espeak-ng; }
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null || \
		[ "$$CONTAINER_SMOKE" = 0 ] || [ "$$(id -u)" != 0 ] || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y podman runc debootstrap; }

# Only the container check: build every image (deploy/docker/) and run the CPU stack through one analysis.
deploy-smoke: setup system-tools
	.venv/bin/python scripts/container_smoke.py
