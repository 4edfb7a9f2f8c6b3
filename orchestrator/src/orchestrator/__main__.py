"""`python -m orchestrator`: serve the internal API (and workers) on ORCHESTRATOR_PORT."""

import os

import uvicorn


def main() -> None:
    uvicorn.run("orchestrator.app:create_app", factory=True, host=os.environ.get("HOST", "127.0.0.1"),
                port=int(os.environ.get("ORCHESTRATOR_PORT", "8001")))


if __name__ == "__main__":
    main()
