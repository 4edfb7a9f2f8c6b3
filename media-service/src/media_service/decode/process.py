"""Child process that decodes stored media for one request: `python -m media_service.decode.process`.

It reads one JSON job on stdin and writes one JSON result to the job's `result_path`, like the
fetch process (see child_process.py). Running apart from the service means a hostile file (a huge
canvas, thousands of tiny frames) costs only this process, which the service kills when the request
ends or runs out of time, and whose memory and CPU time the kernel caps (the job's "limits").

Jobs: {"action": "frames" | "wav" | "subtitles" | "probe", "path": ..., "limits": {...}, ...}.
A result: {"ok": true, "value": ...}; {"ok": false, "raise": name, "detail": ...} for an error the
caller has its own answer for (an unreadable video, no audio); {"ok": false, "detail": ...} for a
limit that was reached.
"""

import resource
import signal
import sys
from dataclasses import asdict
from pathlib import Path

from media_service.child_process import serve_one_job
from media_service.decode.budget import DecodeBudget, DecodeLimit, decode_budget

# Errors that mean "this file cannot give that", which the service answers the way it always has
# (decoder.py raises them again by name; NoVideoStream is passed on as UnreadableVideo).
PASSED_ON = ("UnreadableVideo", "UnreadableMedia", "NoAudio", "StartPastEnd", "WindowTooLong")
# CPU seconds past the soft limit before the kernel kills outright (when the handler cannot run).
CPU_HARD_MARGIN_S = 5


# Each action imports what it needs when it runs: a process starts per request, and cv2 and the
# contract models alone take a third of a second to import.
def frames(job: dict):
    from media_service.frames.selection import extract_frames

    found = extract_frames(Path(job["path"]), job["strategy"], job["max_frames"], job["max_side"], Path(job["out_dir"]))
    return found.model_dump(mode="json")


def wav(job: dict):
    from media_service.transcripts.audio import write_wav

    return write_wav(Path(job["path"]), Path(job["out"]), job["start"], job["duration"])


def subtitles(job: dict):
    from media_service.transcripts.embedded_subtitles import read_embedded_subtitles

    found = read_embedded_subtitles(Path(job["path"]), job["languages"])
    return {
        "segments": [s.model_dump(mode="json") for s in found.segments],
        "language": found.language,
        "note": found.note,
    }


def probe(job: dict):
    from media_service.decode.probe import probe_media

    return asdict(probe_media(Path(job["path"])))


ACTIONS = {"frames": frames, "wav": wav, "subtitles": subtitles, "probe": probe}


def _on_cpu_limit(signum, frame) -> None:
    raise DecodeLimit("decoding used more CPU time than DECODE_TIMEOUT_S allows")


def limit_resources(limits: dict) -> None:
    """Cap this process's address space and CPU time; decoding beyond them fails here, not the host."""
    memory = limits["memory_mb"] * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu_s = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + CPU_HARD_MARGIN_S))
    signal.signal(signal.SIGXCPU, _on_cpu_limit)


def _memory_detail(limits: dict) -> str:
    return f"decoding needs more than {limits['memory_mb']} MB (DECODE_MAX_MEMORY_MB)"


def _ran_out_of_memory(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, MemoryError):  # PyAV's ENOMEM error is one too
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def run(job: dict) -> dict:
    limits = job["limits"]
    budget = DecodeBudget(max_frames=limits["max_frames"], max_pixels=limits["max_pixels"])
    try:
        with decode_budget(budget):
            return {"ok": True, "value": ACTIONS[job["action"]](job)}
    except DecodeLimit as exc:
        return {"ok": False, "detail": str(exc)}
    except MemoryError:
        return {"ok": False, "detail": _memory_detail(limits)}
    except Exception as exc:
        if _ran_out_of_memory(exc):  # libav's refused allocation, which the readers turn into "unreadable"
            return {"ok": False, "detail": _memory_detail(limits)}
        passed_as = next((kind.__name__ for kind in type(exc).__mro__ if kind.__name__ in PASSED_ON), None)
        if passed_as is None:
            raise  # a bug, not the file: the traceback goes to stderr, the service reports the exit
        return {"ok": False, "raise": passed_as, "detail": str(exc)}


def main() -> int:
    return serve_one_job(run, prepare=lambda job: limit_resources(job["limits"]))


if __name__ == "__main__":
    sys.exit(main())
