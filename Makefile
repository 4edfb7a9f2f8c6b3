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

run: setup
	@mkdir -p var
	@echo "Gateway on http://127.0.0.1:$(PORT) (API docs at /docs); Ctrl-C stops every service."
	GATEWAY_PORT=$(PORT) .venv/bin/honcho -d $(CURDIR) -f deploy/local/Procfile start

test: setup system-tools
	.venv/bin/python -m pytest

# Benchmarks write their method and figures to docs/benchmarks.md (not part of `make test`).
bench: setup
	.venv/bin/python -m bench.frames_bench --out docs/benchmarks.md
	.venv/bin/python -m bench.vision_bench --out docs/benchmarks.md

lint: setup
	.venv/bin/ruff check .

lock: | $(UV)
	$(UV) lock --python $(PYTHON)

clean:
	rm -rf .venv .tools var

# Programs from the system the tests need: podman, runc and debootstrap build and run the images in
# tests/deploy/test_podman_smoke.py, Node.js runs the API guide's JavaScript example. Installed with apt
# when missing (as root; elsewhere install them yourself, or set CONTAINER_SMOKE=0 to leave the image test out).
.PHONY: system-tools deploy-smoke
system-tools:
	@command -v node >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs; }
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null || \
		[ "$$CONTAINER_SMOKE" = 0 ] || [ "$$(id -u)" != 0 ] || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y podman runc debootstrap; }

# Only the container check: build every image (deploy/docker/) and run the CPU stack through one analysis.
deploy-smoke: setup system-tools
	.venv/bin/python scripts/container_smoke.py
