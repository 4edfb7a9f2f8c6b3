"""What a service does once it has started, before it serves."""

import gc


def settle_heap() -> None:
    """Set aside what starting up allocated (modules, the app, settings, pools) from the garbage
    collector's view. A full collection walks every object in the process, tens of milliseconds with
    FastAPI, SQLAlchemy and pydantic loaded, and every request that arrives meanwhile waits: the slowest
    answers under load were those. What starting up left behind is never garbage for long anyway."""
    gc.collect()
    gc.freeze()
