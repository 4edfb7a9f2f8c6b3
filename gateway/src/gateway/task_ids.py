"""Task ids as the public routes take them: any text in the path, of which only a UUID can name a task."""

from uuid import UUID

from fastapi import HTTPException


def task_not_found(task_id: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"Task {task_id} not found")


def parse_task_id(task_id: str) -> UUID:
    # Anything that is not a UUID cannot name a task, so it is "not found" rather than a 422.
    try:
        return UUID(task_id)
    except ValueError:
        raise task_not_found(task_id) from None
