"""Typed checkpoints: a task resumes from checkpoints stored in the shape they had before they were typed,
and a claim reads its row through Claim.from_row."""

import asyncio
import json

import httpx
from sqlalchemy import select, update

from orchestrator.clients.models import ModelClient
from orchestrator.config import ModelEndpoint, OrchestratorSettings
from orchestrator.deployments import Deployments
from orchestrator.models import Task
from orchestrator.queue import Claim, claim_next_task
from orchestrator.stage_results import Checkpoints, ExtractedFrames, TaskResults
from orchestrator.tasks import create_task, get_task
from orchestrator.worker import Worker
from service_common.contracts import STAGES, FramesRequest, TaskCreate, TaskStatus, TranscriptSegment, VideoInfo
from tests.support.fault_injecting_openai import MODEL

# The first three stages' checkpoints as save_checkpoint stored them while checkpoints were plain dicts:
# a DownloadResult's and a TranscriptResult's model_dump(), and the frames stage's own map with the frame
# set it asked for.
DOWNLOADED = {"media_id": "m1", "video_info": {"title": "Energy talk", "duration": 125, "channel": None},
              "webpage_url": "https://example.com/talk", "extractor": "generic", "subtitles": [], "language": "en",
              "filesize": 1000}
FRAMES = {"media_id": "m1", "request": {"max_frames": 2, "strategy": "uniform", "max_side": None},
          "frames": [{"index": 0, "timestamp": 10.0, "width": 64, "height": 36},
                     {"index": 3, "timestamp": 90.0, "width": 64, "height": 36}]}
TRANSCRIBED = {"text": "Welcome. Prices fall.", "language": "en", "source": "subtitles", "notes": [],
               "segments": [{"start": 0.0, "end": 5.0, "text": "Welcome."},
                            {"start": 70.0, "end": 80.0, "text": "Prices fall."}]}
OLD_CHECKPOINTS = {"downloading": DOWNLOADED, "extracting_frames": FRAMES, "extracting_transcript": TRANSCRIBED}
ANSWER = {"summary": "A short talk on energy prices.", "key_points": ["[01:10] prices fall"]}


class RecordingFrames:
    """Stands in for the media service: every frame is the same few bytes; the frame sets asked for are kept."""

    def __init__(self):
        self.asked: list[tuple[str, int, FramesRequest | None]] = []
        self.sets_named: list[str | None] = []

    async def frame_image(self, media_id: str, index: int, frame_set: str | None = None,
                          request: FramesRequest | None = None) -> bytes:
        self.asked.append((media_id, index, request))
        self.sets_named.append(frame_set)
        return b"\xff\xd8\xff\xd9"


def test_checkpoints_of_every_stored_shape_read_back():
    checkpoints = Checkpoints.from_stored(OLD_CHECKPOINTS)
    assert checkpoints.downloading.video_info == VideoInfo(title="Energy talk", duration=125)
    assert checkpoints.extracting_frames.request == FramesRequest(max_frames=2, strategy="uniform")
    assert [f.index for f in checkpoints.extracting_frames.frames] == [0, 3]
    assert checkpoints.extracting_transcript.segments[1] == TranscriptSegment(start=70, end=80, text="Prices fall.")
    assert [s for s in STAGES if checkpoints.finished(s)] == [
        TaskStatus.DOWNLOADING, TaskStatus.EXTRACTING_FRAMES, TaskStatus.EXTRACTING_TRANSCRIPT]
    # Frames extracted before frame sets were kept name none: their images are the media's default set.
    older = Checkpoints.from_stored({"extracting_frames": {key: FRAMES[key] for key in ("media_id", "frames")}})
    assert older.extracting_frames.request is None
    assert Checkpoints.from_stored(None) == Checkpoints()
    # What is stored now reads back as it was.
    extracted = checkpoints.extracting_frames
    assert ExtractedFrames.model_validate(json.loads(extracted.model_dump_json())) == extracted


def test_a_checkpoint_that_does_not_read_leaves_only_its_stage_to_run_again():
    damaged = {**OLD_CHECKPOINTS, "extracting_transcript": {"segments": "not a list"}}
    checkpoints = Checkpoints.from_stored(damaged)
    assert [s for s in STAGES if checkpoints.finished(s)] == [TaskStatus.DOWNLOADING, TaskStatus.EXTRACTING_FRAMES]
    assert checkpoints.downloading == Checkpoints.from_stored(OLD_CHECKPOINTS).downloading


def test_results_name_only_the_columns_a_stage_set():
    assert TaskResults(transcript=None, notes=["n"]).columns() == {"transcript": None, "notes": ["n"]}
    assert TaskResults().columns() == {}


def test_a_claim_reads_its_row(sessions):
    record, _ = create_task(sessions, TaskCreate(youtube_url="https://example.com/talk.mp4"), owner="alice")
    _store_old_checkpoints(sessions, record.task_id)
    claim = claim_next_task(sessions, "w1", lease_s=30)
    with sessions() as session:
        row = session.scalar(select(Task).where(Task.id == record.task_id))
        assert Claim.from_row(row, request_id="r1") == Claim(
            record.task_id, "w1", 1, claim.request, Checkpoints.from_stored(OLD_CHECKPOINTS),
            TaskStatus.EXTRACTING_TRANSCRIPT.value, None, "alice", False, "r1")
    assert claim.checkpoints == Checkpoints.from_stored(OLD_CHECKPOINTS) and claim.task_owner == "alice"


def test_a_task_resumes_from_checkpoints_stored_in_the_old_shape(fs, sessions):
    fs.control(reply=json.dumps(ANSWER))
    record, _ = create_task(sessions, TaskCreate(youtube_url="https://example.com/talk.mp4", max_frames=2))
    _store_old_checkpoints(sessions, record.task_id)
    frames = RecordingFrames()
    endpoint = ModelEndpoint(base_url=fs.base_url, model=MODEL)
    settings = OrchestratorSettings(model_endpoints={"vision": {"int4": endpoint}, "text": {"int4": endpoint}})

    async def run():
        async with httpx.AsyncClient() as http:
            worker = Worker(settings, sessions, frames, ModelClient(http, 2, 10), Deployments.from_settings(settings))
            await worker.process(claim_next_task(sessions, worker.worker_id, lease_s=30))

    asyncio.run(run())
    assert fs.stats()["requests"] == 2 + 1  # a description of each frame, then the summary: nothing redone
    assert sorted(frames.asked, key=lambda asked: asked[1]) == [
        ("m1", 0, FramesRequest(max_frames=2, strategy="uniform")),
        ("m1", 3, FramesRequest(max_frames=2, strategy="uniform"))]
    assert frames.sets_named == [None, None]  # extracted before sets had ids: named by their request
    task = get_task(sessions, record.task_id)
    assert task.status == TaskStatus.COMPLETED and task.summary == ANSWER["summary"]
    assert [(f.index, f.timestamp) for f in task.frames] == [(0, 10.0), (3, 90.0)]
    with sessions() as session:
        stored = session.scalar(select(Task.checkpoints).where(Task.id == record.task_id))
    assert {stage: stored[stage] for stage in OLD_CHECKPOINTS} == OLD_CHECKPOINTS  # left as they were
    assert stored["analyzing_vision"] == {"analyses": [json.dumps(ANSWER)] * 2}


def _store_old_checkpoints(sessions, task_id: str) -> None:
    with sessions.begin() as session:
        session.execute(update(Task).where(Task.id == task_id).values(
            checkpoints=OLD_CHECKPOINTS, status=TaskStatus.EXTRACTING_TRANSCRIPT.value, media_id="m1"))
