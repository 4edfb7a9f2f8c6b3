"""Chapters as the text model gives them, repaired into an ordered cover of the video; and the material
the text model reads, with the transcript's times, in one call and in parts."""

import asyncio
import json
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from orchestrator.chapters import parse_time, repair_chapters
from orchestrator.clients.models import ModelClient
from orchestrator.config import ModelEndpoint
from orchestrator.prompts import SUMMARY_SCHEMA, parse_answer, summary_material, text_messages
from orchestrator.summarize import Summarizer, transcript_parts
from tests.support.http_server import send_json, serving


@pytest.mark.parametrize(("given", "seconds"), [
    ("00:00", 0), ("01:23", 83), ("1:23", 83), ("75:30", 4530), ("1:02:03", 3723), ("[02:05]", 125),
    (" 07:05 ", 425), ("83", 83), ("83.5", 83.5), (42, 42), (12.25, 12.25),
])
def test_times_are_read_as_people_write_them(given, seconds):
    assert parse_time(given) == seconds


@pytest.mark.parametrize("given", [
    "01:75", "1:60:00", "1:2:3:4", "soon", "", ":30", "1:-5", "-5", -5, float("nan"), float("inf"), True, None,
    ["01:00"], "9" * 5000, "1e9",
])
def test_unreadable_times_are_none(given):
    assert parse_time(given) is None


def _chapter(start, title="t", summary=""):
    return {"start": start, "title": title, "summary": summary}


def test_chapters_are_sorted_and_each_ends_where_the_next_starts():
    raw = [_chapter("02:00", "C", "third"), _chapter("00:00", "A", "first"), _chapter("00:45", "B", "second")]
    assert repair_chapters(raw, 200.0) == [
        {"start": 0.0, "end": 45.0, "title": "A", "summary": "first"},
        {"start": 45.0, "end": 120.0, "title": "B", "summary": "second"},
        {"start": 120.0, "end": 200.0, "title": "C", "summary": "third"},
    ]


def test_the_first_chapter_starts_at_the_beginning():
    chapters = repair_chapters([_chapter("00:12", "Intro"), _chapter("01:00", "Main")], 90.0)
    assert [(c["start"], c["end"], c["title"]) for c in chapters] == [(0.0, 60.0, "Intro"), (60.0, 90.0, "Main")]


def test_unreadable_entries_are_dropped():
    raw = ["not a chapter", _chapter("soon", "Never"), _chapter("00:30", ""), _chapter("00:40", None),
           {"title": "no start"}, _chapter("00:00", "Kept"), _chapter("01:00", "  Also kept  ", 7)]
    chapters = repair_chapters(raw, 120.0)
    assert [(c["start"], c["end"], c["title"], c["summary"]) for c in chapters] == [
        (0.0, 60.0, "Kept", ""), (60.0, 120.0, "Also kept", "")]


def test_chapters_sharing_a_start_become_one():
    raw = [_chapter("00:00", "Intro", "Hello."), _chapter("01:00", "Prices", "Prices fall."),
           _chapter("1:00", "Prices again", "They fall fast."), _chapter(60, "Prices", "Prices fall.")]
    assert repair_chapters(raw, 100.0) == [
        {"start": 0.0, "end": 60.0, "title": "Intro", "summary": "Hello."},
        {"start": 60.0, "end": 100.0, "title": "Prices", "summary": "Prices fall. They fall fast."},
    ]


def test_chapters_past_the_end_are_clamped_and_folded_into_the_last():
    raw = [_chapter("00:00", "Intro"), _chapter("00:50", "Demo", "A demo."), _chapter("05:00", "Outro", "Bye."),
           _chapter("09:00", "Later", "Never seen.")]
    assert repair_chapters(raw, 60.0) == [
        {"start": 0.0, "end": 50.0, "title": "Intro", "summary": ""},
        {"start": 50.0, "end": 60.0, "title": "Demo", "summary": "A demo. Bye. Never seen."},
    ]
    # Even a lone chapter past the end covers the whole video.
    assert repair_chapters([_chapter("03:00", "All")], 60.0) == [
        {"start": 0.0, "end": 60.0, "title": "All", "summary": ""}]


def test_with_no_end_known_the_last_chapter_ends_where_it_starts():
    chapters = repair_chapters([_chapter("00:00", "A"), _chapter("00:30", "B")], None)
    assert [(c["start"], c["end"]) for c in chapters] == [(0.0, 30.0), (30.0, 30.0)]


@pytest.mark.parametrize("raw", [None, "00:00 Intro", {"start": "00:00", "title": "x"}, [], [_chapter("x", "y")]])
def test_no_usable_chapter_is_none(raw):
    assert repair_chapters(raw, 60.0) is None


def test_the_answer_carries_chapters_and_notes():
    content = "```json\n" + json.dumps({
        "summary": "A talk.", "key_points": ["[00:05] hello", " "],
        "chapters": [_chapter("00:00", "Intro")], "notes": ["could not write in Klingon", 5, "", "x" * 400]}) + "\n```"
    answer = parse_answer(content)
    assert (answer.summary, answer.key_points) == ("A talk.", ["[00:05] hello"])
    assert answer.chapters == [_chapter("00:00", "Intro")]
    assert answer.notes == ["could not write in Klingon", "x" * 300]
    prose = parse_answer("A talk about energy.\nKey points:\n- [00:05] prices fall")
    assert (prose.summary, prose.key_points, prose.chapters, prose.notes) == (
        "A talk about energy.", ["[00:05] prices fall"], None, [])


def test_chapters_and_notes_are_optional_in_the_schema():
    assert set(SUMMARY_SCHEMA["properties"]) == {"summary", "key_points", "chapters", "notes"}
    assert SUMMARY_SCHEMA["required"] == ["summary", "key_points"]
    assert SUMMARY_SCHEMA["properties"]["chapters"]["items"]["required"] == ["start", "title", "summary"]


def test_the_system_prompt_asks_for_times_and_chapters_in_the_asked_language():
    [system, user] = text_messages("material", "Korean", "focus on the prices")
    assert '"[MM:SS] "' in system["content"] and '"chapters"' in system["content"]
    assert "Write the summary, the key points and the chapters in Korean." in system["content"]
    assert system["content"].endswith(
        "keep this in mind (in the summary, the key points and the chapters): focus on the prices")
    assert user == {"role": "user", "content": "material"}


SEGMENTS = [{"start": 0.0, "end": 4.0, "text": "Welcome to the talk."},
            {"start": 65.2, "end": 70.0, "text": "Prices\nfall."},
            {"start": 3725.0, "end": 3730.0, "text": "Goodbye."}]
TEXT = "Welcome to the talk. Prices fall. Goodbye."


def test_the_material_lists_the_transcript_one_timed_line_per_segment():
    [part] = transcript_parts(TEXT, SEGMENTS, 10_000)
    material = summary_material({"title": "Energy", "duration": 3731}, part.text,
                                [{"index": 0, "timestamp": 65.0}], ["A chart of prices."])
    assert material == ("Title: Energy\nDuration: 1:02:11\n\nTranscript:\n[00:00] Welcome to the talk.\n"
                        "[01:05] Prices fall.\n[1:02:05] Goodbye.\n\nFrames:\n[01:05] A chart of prices.")


def test_a_transcript_without_segments_is_its_text():
    [part] = transcript_parts(TEXT, None, 10_000)
    assert summary_material(None, part.text, [], []) == f"\nTranscript:\n{TEXT}"


@contextmanager
def scripted_text_model(final_reply: dict):
    """An OpenAI-compatible text model on loopback that records each chat request's messages and answers
    a part's request with that part's first line, and the final request with `final_reply`."""
    requests: list[list[dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            send_json(self, 200, {"object": "list", "data": []})

        def do_POST(self) -> None:
            messages = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["messages"]
            requests.append(messages)
            user = messages[-1]["content"]
            if "Transcript part:" in user:
                reply = {"summary": "Part from " + user.split("Transcript part:\n")[1].split("]")[0] + "].",
                         "key_points": []}
            else:
                reply = final_reply
            send_json(self, 200, {"choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": json.dumps(reply)}}]})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", requests


def test_in_parts_the_final_call_gets_the_part_summaries_with_their_time_ranges_and_makes_chapters():
    segments = [{"start": i * 30.0, "end": i * 30.0 + 25, "text": f"point number {i} about energy prices"}
                for i in range(60)]
    text = " ".join(s["text"] for s in segments)
    final = {"summary": "A long talk.", "key_points": ["[00:00] it starts"],
             "chapters": [_chapter("15:00", "Second half"), _chapter("00:00", "First half")]}

    async def run(base_url: str):
        async with httpx.AsyncClient() as http:
            summarizer = Summarizer(ModelClient(http, per_endpoint=4, call_timeout_s=10), 1000, 8)
            return await summarizer.summarize(ModelEndpoint(base_url=base_url, model="m"), {"duration": 1800.0},
                                              text, segments, [], [], None, None)

    with scripted_text_model(final) as (base_url, requests):
        result = asyncio.run(run(base_url))
    *part_requests, final_request = requests
    assert len(part_requests) == result.parts > 1
    for messages in part_requests:  # each part is timed lines
        lines = messages[-1]["content"].split("Transcript part:\n")[1].split("\n")
        assert all(line.startswith("[") and "] point number" in line for line in lines)
    digest = final_request[-1]["content"].split("Transcript:\n")[1].split("\n")
    assert digest[0] == "(summarised in parts)"
    assert digest[1].startswith("[00:00–") and digest[1].endswith("] Part from [00:00].")
    assert all(line.split("] ", 1)[1] == f"Part from {line.split('–')[0]}]." for line in digest[1:])
    assert result.chapters == [{"start": 0.0, "end": 900.0, "title": "First half", "summary": ""},
                               {"start": 900.0, "end": 1800.0, "title": "Second half", "summary": ""}]
