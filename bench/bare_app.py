"""The reference the read benchmark compares the gateway with: FastAPI and uvicorn answering fixed bytes.

`POST /body` sets the bytes; `GET /tasks/{task_id}` answers them, as the gateway answers a task. Started
by bench.read_bench with the gateway's own command line from the Procfile, so the two differ only in
what happens between reading a request and writing its answer.
"""

from fastapi import FastAPI, Request, Response


def create_app() -> FastAPI:
    app = FastAPI()
    app.state.body = b"{}"

    @app.post("/body", status_code=204)
    async def set_body(request: Request) -> Response:
        app.state.body = await request.body()
        return Response(status_code=204)

    @app.get("/tasks/{task_id}")
    async def task(task_id: str) -> Response:
        return Response(app.state.body, media_type="application/json")

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    return app
