"""What a long transcript costs the orchestrator is bounded: the transcript a task keeps (whatever the
media service sends), and the text-model calls spent summarising it (MAX_SUMMARY_PARTS)."""

import asyncio
import json
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from orchestrator.clients.media import MediaClient
from orchestrator.clients.models import ModelClient
from orchestrator.config import ModelEndpoint, OrchestratorSettings
from orchestrator.deployments import Deployments
from orchestrator.pipeline import Pipeline, StageContext
from orchestrator.stage_results import Checkpoints
from orchestrator.summarize import evenly_spaced
from service_common.contracts import TranscriptResult, TranscriptSegment
from service_common.transcript_limits import capped_transcript, clock
from tests.support.fault_injecting_openai import MODEL
from tests.support.http_server import send_json, serving

PART_REPLY = json.dumps({"summary": "This part covers energy prices.", "key_points": ["prices fall"]})


def _segments(count: int, text: str = "the speaker explains how energy prices fall over the years") -> list[dict]:
    return [{"start": i * 3.0, "end": i * 3.0 + 2.5, "text": f"{i}: {text}"} for i in range(count)]


def _pipeline(models_url: str, media: MediaClient | None = None, **settings) -> tuple[Pipeline, httpx.AsyncClient]:
    endpoint = ModelEndpoint(base_url=models_url, model=MODEL)
    config = OrchestratorSettings(model_endpoints={"text": {"int4": endpoint}, "vision": {"int4": endpoint}},
                                  **settings)
    http = httpx.AsyncClient()
    models = ModelClient(http, per_endpoint=4, call_timeout_s=10)
    return Pipeline(config, media or MediaClient(http, "http://127.0.0.1:9"), models,
                    deployments=Deployments.from_settings(config)), http


async def _no_progress(_progress: dict) -> None:
    return None


def test_evenly_spaced_parts_run_from_the_first_to_the_last_in_order():
    parts = [f"part {i}" for i in range(507)]
    chosen = evenly_spaced(parts, 32)
    assert len(chosen) == 32 == len(set(chosen))
    assert chosen[0] == "part 0" and chosen[-1] == "part 506"
    positions = [parts.index(p) for p in chosen]
    assert positions == sorted(positions)
    gaps = {b - a for a, b in zip(positions, positions[1:], strict=False)}
    assert max(gaps) - min(gaps) <= 1  # evenly: no stretch of the video left far behind another
    assert evenly_spaced(parts[:5], 32) == parts[:5]


def test_summary_calls_stop_at_max_summary_parts_with_a_note(fs):
    fs.control(reply=PART_REPLY)
    segments = _segments(400)  # about 27,000 characters: 30-odd parts of 1,000
    transcript = {"text": " ".join(s["text"] for s in segments), "segments": segments, "language": "en"}
    ctx = StageContext("t", {"text_quantization": "int4"}, Checkpoints.from_stored({
        "downloading": {"media_id": "m1", "video_info": {"title": "Energy talk"}}, "extracting_transcript": transcript,
        "extracting_frames": {"media_id": "m1", "frames": []}, "analyzing_vision": {"analyses": []}}), _no_progress)

    async def run():
        pipeline, http = _pipeline(fs.base_url, max_transcript_chars=1000, max_summary_parts=4)
        async with http:
            return await pipeline.analyze_text(ctx)

    output = asyncio.run(run())
    assert fs.stats()["requests"] == 4 + 1  # four parts, then the whole
    notes = output.results.notes
    assert notes[0] == "the transcript was summarised in 4 parts"
    needed = int(notes[1].split(" needed ")[1].split()[0])
    assert needed > 4
    assert notes[1] == f"the transcript needed {needed} parts; 4 evenly spaced ones were summarised (MAX_SUMMARY_PARTS)"
    assert output.results.summary == "This part covers energy prices."


@contextmanager
def media_answering(result: dict):
    """A media service on loopback whose transcript endpoint answers `result`, whatever it is asked."""
    payload = json.loads(json.dumps(result))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            send_json(self, 200, payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"


def test_an_oversized_transcript_from_the_media_service_is_cut_before_it_is_stored(fs):
    segments = _segments(3000)
    oversized = {"text": " ".join(s["text"] for s in segments), "segments": segments, "language": "en",
                 "source": "subtitles", "notes": ["YouTube captions are disabled for this video"]}
    ctx = StageContext("t", {"youtube_url": "https://example.com/v"},
                       Checkpoints.from_stored({"downloading": {"media_id": "m1", "video_info": {}, "subtitles": []}}),
                       _no_progress)

    async def run(base: str):
        pipeline, http = _pipeline(fs.base_url, max_transcript_cues=250, max_transcript_text_chars=1_000_000)
        async with http:
            pipeline.media = MediaClient(http, base)
            return await pipeline.extract_transcript(ctx)

    with media_answering(oversized) as base:
        output = asyncio.run(run(base))
    fields = output.results.columns()
    assert fields["transcript_segments"] == segments[:250]
    assert fields["transcript"] == " ".join(s["text"] for s in segments[:250])
    assert fields["notes"] == ["YouTube captions are disabled for this video",
                               f"the transcript was cut at {clock(segments[250]['start'])} after 250 cues "
                               "(MAX_TRANSCRIPT_CUES)"]
    assert len(output.checkpoint.segments) == 250 and output.checkpoint.text == fields["transcript"]


def test_text_without_segments_is_cut_between_words():
    result = TranscriptResult(text="alpha beta gamma delta", source="speech_to_text")
    cut = capped_transcript(result, max_cues=10, max_chars=13)
    assert cut.text == "alpha beta"
    assert cut.notes == ["the transcript was cut after 13 characters (MAX_TRANSCRIPT_TEXT_CHARS)"]
    assert capped_transcript(result, max_cues=10, max_chars=22) is result


def test_the_cue_that_crosses_the_character_cap_keeps_the_words_that_fit():
    segments = [TranscriptSegment(start=0, end=1, text="one two"),
                TranscriptSegment(start=65, end=70, text="three four five")]
    cut = capped_transcript(TranscriptResult(text="one two three four five", segments=segments), 10, 18)
    assert [s.text for s in cut.segments] == ["one two", "three four"]
    assert cut.text == "one two three four" and len(cut.text) <= 18
    assert cut.notes == ["the transcript was cut at 01:05 after 18 characters (MAX_TRANSCRIPT_TEXT_CHARS)"]
