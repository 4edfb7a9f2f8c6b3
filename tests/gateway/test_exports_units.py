"""The exports' formatting (gateway.exports), in process: subtitles read back with real parsers (srt, webvtt-py),
the Markdown report rendered by a real CommonMark renderer (markdown-it-py, raw HTML allowed as renderers
allow it), file names read back as a mail parser reads Content-Disposition, and the OpenAPI document."""

import html
import math
from datetime import datetime
from email.message import Message
from email.utils import collapse_rfc2231_value
from html.parser import HTMLParser

import pytest
import srt
import webvtt
from markdown_it import MarkdownIt

from gateway import exports
from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.routes.info import ENDPOINTS
from service_common.contracts import TaskRecord, TranscriptSegment

TASK_ID = "0b7e8f52-3c1d-4f6a-9e2b-5d4c3b2a1f00"


def seg(start: float, end: float, text: str) -> TranscriptSegment:
    return TranscriptSegment(start=start, end=end, text=text)


# Text that would break a subtitle file written naively, out of order, with impossible times.
TRICKY = [
    seg(12.0, 14.0, "Out of order: said last."),
    seg(0.5, 2.5, "First line\n\nafter a blank line"),
    seg(3.0, 4.0, "00:00:09,000 --> 00:00:10,000\r\n42"),
    seg(4.5, 4.5, "zero-length"),
    seg(5.0, 3.0, "inverted <--> arrows ---> here"),
    seg(7.0, 8.0, "  \n\t \u2028 "),
    seg(-1.0, 1.0, "Negative start"),
    seg(9.0, 9.0, "zero at nine"),
    seg(9.5, 10.0, "Bell\x07 and escape\x1b[31m red\x00 \ud800 done"),
    seg(10.0, 11.0, "Lines\rwith\u2028odd\x85breaks"),
    seg(13.0, 14.0, "<b>bold</b> & <script>alert(1)</script>"),
    seg(float("nan"), 1.0, "never shown: no start"),
    seg(14.5, float("inf"), "no end"),
]
# (start s, end s, lines) as a player must show them.
EXPECTED = [
    (0.0, 1.0, ["Negative start"]),
    (0.5, 2.5, ["First line", "after a blank line"]),
    (3.0, 4.0, ["00:00:09,000 -> 00:00:10,000", "42"]),
    (4.5, 5.0, ["zero-length"]),  # until the next cue starts
    (5.0, 7.0, ["inverted <-> arrows -> here"]),  # 2 s: the next cue starts later
    (9.0, 9.5, ["zero at nine"]),
    (9.5, 10.0, ["Bell and escape[31m red done"]),
    (10.0, 11.0, ["Lines", "with", "odd", "breaks"]),
    (12.0, 14.0, ["Out of order: said last."]),
    (13.0, 14.0, ["<b>bold</b> & <script>alert(1)</script>"]),
    (14.5, 16.5, ["no end"]),
]


@pytest.mark.parametrize(("ms", "srt_form", "vtt_form"), [
    (0, "00:00:00,000", "00:00:00.000"),
    (1500, "00:00:01,500", "00:00:01.500"),
    (3_723_456, "01:02:03,456", "01:02:03.456"),
    (100 * 3_600_000 + 1, "100:00:00,001", "100:00:00.001"),
])
def test_timestamps(ms, srt_form, vtt_form):
    assert exports.srt_timestamp(ms) == srt_form
    assert exports.vtt_timestamp(ms) == vtt_form


def test_srt_reads_back_as_one_numbered_cue_per_segment():
    text = exports.to_srt(TRICKY)
    text.encode("utf-8")  # a lone surrogate in the source must not make the file unwritable
    cues = list(srt.parse(text))
    assert [c.index for c in cues] == list(range(1, len(EXPECTED) + 1))
    got = [(c.start.total_seconds(), c.end.total_seconds(), c.content.split("\n")) for c in cues]
    assert got == EXPECTED
    assert text.startswith("1\n00:00:00,000 --> 00:00:01,000\nNegative start\n\n2\n")
    assert text.endswith("no end\n\n")
    assert "\n\n\n" not in text and "\r" not in text


def _vtt_ms(stamp) -> float:
    hours, minutes, seconds, millis = stamp.to_tuple()
    return ((hours * 60 + minutes) * 60 + seconds) + millis / 1000


def test_vtt_reads_back_with_markup_characters_as_references():
    text = exports.to_vtt(TRICKY)
    assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nNegative start\n\n")
    captions = webvtt.from_string(text, strict=True).captions  # strict: a malformed cue block is an error
    got = [(_vtt_ms(c.start_time), _vtt_ms(c.end_time), html.unescape(c.raw_text).split("\n")) for c in captions]
    assert got == EXPECTED
    assert "<" not in text and ">" not in text.replace(" --> ", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&amp;" in text


def test_no_segment_with_text_gives_an_empty_file_of_the_right_kind():
    blank = [seg(1.0, 2.0, " \n\n "), seg(float("inf"), 3.0, "x")]
    assert exports.to_srt(blank) == ""
    assert exports.to_vtt(blank) == "WEBVTT\n"
    assert webvtt.from_string(exports.to_vtt(blank)).captions == []


def test_cues_that_start_together_keep_their_order_and_a_zero_length_one_gets_the_fallback():
    cues = exports.timed_cues([seg(5.0, 5.0, "b"), seg(5.0, 6.0, "c"), seg(1.0, 1.0, "a")])
    assert [(c.start_ms, c.end_ms, c.lines) for c in cues] == [
        (1000, 3000, ["a"]),  # FALLBACK_CUE_MS: the next cue starts later than that
        (5000, 7000, ["b"]),  # nothing starts after it: FALLBACK_CUE_MS
        (5000, 6000, ["c"]),
    ]


# ---- file names ----


def _read_back(header: str) -> tuple[str, str | None, str]:
    """(the plain filename, the filename* one when given, the name a client picks: filename* when given,
    as RFC 6266 says), read by the standard library's MIME header parser (which decodes RFC 2231 values)."""
    message = Message()
    message["Content-Disposition"] = header
    params = message.get_params(header="content-disposition")
    assert params[0] == ("attachment", "")
    plain = [value for name, value in params if name == "filename" and isinstance(value, str)]
    wide = [collapse_rfc2231_value(value) for name, value in params if name == "filename" and isinstance(value, tuple)]
    assert len(plain) == 1 and len(wide) <= 1, params
    return plain[0], (wide or [None])[0], (wide or plain)[0]


@pytest.mark.parametrize(("title", "plain", "chosen"), [
    ("Colour bars demo", "Colour-bars-demo.srt", "Colour-bars-demo.srt"),
    ("../../etc/passwd", "etc-passwd.srt", "etc-passwd.srt"),
    ('a "quoted"; name\r\nX-Evil: 1', "a-quoted-name-X-Evil-1.srt", "a-quoted-name-X-Evil-1.srt"),
    (".hidden", "hidden.srt", "hidden.srt"),
    ("Café déjà vu", "Cafe-deja-vu.srt", "Café-déjà-vu.srt"),
    ("한국어 영상", f"task-{TASK_ID}.srt", "한국어-영상.srt"),
    ("<script>", "script.srt", "script.srt"),
    ("", f"task-{TASK_ID}.srt", f"task-{TASK_ID}.srt"),
    ("...///", f"task-{TASK_ID}.srt", f"task-{TASK_ID}.srt"),
    (None, f"task-{TASK_ID}.srt", f"task-{TASK_ID}.srt"),
])
def test_file_names_come_safely_from_the_title(title, plain, chosen):
    header = exports.content_disposition(title, TASK_ID, "srt")
    header.encode("ascii")  # any header value can carry it
    assert header.startswith("attachment; ")
    got_plain, _, got_chosen = _read_back(header)
    assert (got_plain, got_chosen) == (plain, chosen)
    for name in (got_plain, got_chosen):
        assert "/" not in name and "\\" not in name and not name.startswith(".") and ".." not in name


def test_a_long_title_gives_a_bounded_name():
    plain, _, chosen = _read_back(exports.content_disposition("word " * 200, TASK_ID, "vtt"))
    assert len(plain) <= exports.MAX_NAME_CHARS + len(".vtt") and plain.endswith(".vtt")
    assert chosen == plain and not plain.startswith("-") and "--" not in plain


def test_etags():
    tag = exports.etag(b"body")
    assert tag.startswith('"') and tag.endswith('"') and tag != exports.etag(b"other body")
    assert exports.etag_matches(tag, tag)
    assert exports.etag_matches(f'"x", W/{tag}', tag)
    assert exports.etag_matches("*", tag)
    assert not exports.etag_matches(None, tag)
    assert not exports.etag_matches('"x"', tag)
    assert not exports.etag_matches(tag.strip('"'), tag)


# ---- Markdown ----


class Rendered(HTMLParser):
    """What a Markdown renderer made: each element with its attributes, and the text of each one."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.texts: list[tuple[str, str]] = []
        self._open: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in ("img", "br", "hr"):
            self._open.append(tag)

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        self.texts.append((self._open[-1] if self._open else "", data))

    def tags(self) -> list[str]:
        return [tag for tag, _ in self.elements]

    def text_of(self, tag: str) -> list[str]:
        return [text for where, text in self.texts if where == tag]


def render(markdown: str) -> Rendered:
    # CommonMark with raw HTML passed through (as many renderers do), plus GFM's tables and strikethrough.
    return Rendered(MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown))


HOSTILE = [
    "[link](http://evil)",
    "![img](http://evil/x.png)",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<http://evil>",
    "[ref]\n\n[ref]: http://evil",
    "# heading",
    "###### small heading",
    "    indented code",
    "```\nfenced\n```",
    "~~~\nfenced\n~~~",
    "`code`",
    "- list item",
    "+ list item",
    "* list item",
    "1. ordered",
    "2) ordered",
    "> quote",
    "***",
    "---",
    "text\n===",
    "*em* __strong__ ~~struck~~",
    "a | b\n--|--\nc | d",
    "AT&T &amp; &lt;script&gt; &#60;b&#62;",
    "back\\slash\\",
    "trailing hard break  \nnext",
    "snake_case_name and 2*3*4",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_renders_as_the_text_itself(text):
    escaped = exports.markdown_text(text)
    assert "\n" not in escaped
    rendered = render(escaped)
    assert rendered.tags() == ["p"], (escaped, rendered.elements)
    assert "".join(rendered.text_of("p")) == exports.one_line(text)


@pytest.mark.parametrize(("text", "escaped"), [
    ("[link](http://evil)", r"\[link\](http://evil)"),
    ("<script>alert(1)</script>", r"\<script\>alert(1)\</script\>"),
    ("# heading", r"\# heading"),
    ("`code`", r"\`code\`"),
    ("1. one", r"1\. one"),
    ("plain words, 3.5 s.", "plain words, 3.5 s."),
])
def test_escapes(text, escaped):
    assert exports.markdown_text(text) == escaped


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_paragraphs_render_as_paragraphs_of_text(text):
    rendered = render(exports.markdown_paragraphs(f"{text}\n\nsecond paragraph"))
    assert set(rendered.tags()) == {"p"}
    assert rendered.text_of("p")[-1] == "second paragraph"


def evil_task(**changes) -> TaskRecord:
    evil = "[link](http://evil) <script>alert(1)</script>"
    fields = dict(
        task_id=TASK_ID, status="completed", youtube_url="https://www.youtube.com/watch?v=abc&t=1",
        created_at=datetime(2026, 5, 1, 12, 0, 0), completed_at=datetime(2026, 5, 1, 12, 1, 30),
        video_info={"title": f"# {evil}", "duration": 3725.0, "channel": "<b>chan</b>"},
        summary=f"First paragraph {evil}.\n\n# Not a heading\n\n    not code\n\n![img](http://evil/x.png)",
        key_points=[f"[00:05] The lamp {evil}", "- not a nested list"],
        chapters=[{"start": 0, "end": 65, "title": "`Intro` & *more*", "summary": evil},
                  {"start": 65, "end": 3725, "title": "Rest", "summary": ""}],
        frames=[{"index": 0, "timestamp": 65.44, "analysis": f"A frame. {evil}\n\n<iframe src=http://evil>",
                 "image_url": f"/tasks/{TASK_ID}/frames/0.jpg"},
                {"index": 1, "timestamp": 3600.0, "analysis": None, "image_url": "javascript:alert(1)"}],
        transcript="whatever",
        transcript_segments=[{"start": 0.5, "end": 2.5, "text": f"Hello {evil}"},
                             {"start": 3700, "end": 3702.2, "text": "Bye\n\n# now"}],
        transcript_source="subtitles", transcript_language="en", frame_strategy="scenes",
        notes=[f"a note {evil}"],
    )
    return TaskRecord(**{**fields, **changes})


def test_the_report_has_every_section_and_nothing_from_the_video_becomes_markup():
    report = exports.to_markdown(evil_task(), base_url="http://api.example:8000/")
    rendered = render(report)

    assert rendered.text_of("h1") == ["# [link](http://evil) <script>alert(1)</script>"]
    assert rendered.text_of("h2") == ["Summary", "Key points", "Chapters", "Frames", "Transcript", "Notes"]
    assert rendered.text_of("h3") == ["Frame 1 at 1:05.4", "Frame 2 at 1:00:00.0"]
    tags = set(rendered.tags())
    assert not tags & {"script", "iframe", "b", "pre", "code", "blockquote", "ol", "table", "del", "s", "hr"}
    links = [attrs["href"] for tag, attrs in rendered.elements if tag == "a"]
    assert links == ["https://www.youtube.com/watch?v=abc&t=1"], "the source is the only link"
    images = [attrs["src"] for tag, attrs in rendered.elements if tag == "img"]
    assert images == [f"http://api.example:8000/tasks/{TASK_ID}/frames/0.jpg"], "only the frame's own image"
    assert all(set(attrs) <= {"href", "src", "alt"} for _, attrs in rendered.elements)

    # The facts, the times and the text, shown as written.
    assert "- **Duration:** 1:02:05" in report
    assert f"- **Task:** {TASK_ID}" in report
    assert "- **Created:** 2026-05-01 12:00:00 UTC, completed 2026-05-01 12:01:30 UTC" in report
    assert "- **0:00–1:05** \\`Intro\\` \\& \\*more\\*: \\[link\\](http://evil)" in report
    assert "- **1:05–1:02:05** Rest\n" in report
    assert "From the site's subtitles (en)." in report
    assert "- **0:00–0:02** Hello \\[link\\](http://evil) \\<script\\>alert(1)\\</script\\>" in report
    assert "- **1:01:40–1:01:42** Bye # now\n" in report  # a "#" inside a line is no heading
    assert "2 frames (scenes strategy)." in report
    texts = "".join(text for _, text in rendered.texts)
    assert "Hello [link](http://evil) <script>alert(1)</script>" in texts
    assert "<iframe src=http://evil>" in texts and "![img](http://evil/x.png)" in texts
    assert "No description." in texts  # the frame without an analysis


def test_frame_links_are_paths_without_a_base_and_cannot_be_broken_out_of():
    frames = [{"index": 0, "timestamp": 1.0, "analysis": "x", "image_url": "/tasks/a b)(/frames/0.jpg"},
              {"index": 1, "timestamp": 2.0, "analysis": "y", "image_url": "//evil.example/x.jpg"}]
    rendered = render(exports.to_markdown(evil_task(frames=frames)))
    images = [attrs["src"] for tag, attrs in rendered.elements if tag == "img"]
    assert images == ["/tasks/a%20b%29%28/frames/0.jpg"]


def test_a_report_with_little_in_it_says_so():
    task = TaskRecord(task_id=TASK_ID, status="completed", youtube_url="upload://" + "0" * 32,
                      created_at=datetime(2026, 5, 1, 12, 0, 0))
    report = exports.to_markdown(task)
    assert report.startswith("# Untitled video\n")
    for line in ("No summary.", "No key points.", "No chapters.", "No frames.", "No transcript.",
                 "- **Duration:** ?", "- **Source:** upload://" + "0" * 32):
        assert line in report
    assert "## Notes" not in report
    assert not [tag for tag, _ in render(report).elements if tag in ("a", "img")]


def test_the_report_survives_what_json_can_carry():
    task = evil_task(summary="lone \ud800 surrogate\x00", key_points=["x\x1b[2J"],
                     transcript_segments=[{"start": math.inf, "end": 1, "text": "gone"}])
    report = exports.to_markdown(task)
    report.encode("utf-8")
    assert "lone surrogate" in report and "- x\\[2J" in report
    assert "\n## Transcript\n\nNo transcript.\n" not in report  # a transcript text is still shown
    assert "\n## Transcript\n\nwhatever\n" in report


# ---- the API's description ----


def test_the_exports_are_documented_and_listed():
    paths = create_app(GatewaySettings(host="127.0.0.1")).openapi()["paths"]
    for path, media_type, refusals in [
        ("/tasks/{task_id}/transcript.srt", "application/x-subrip", {"404"}),
        ("/tasks/{task_id}/transcript.vtt", "text/vtt", {"404"}),
        ("/tasks/{task_id}/report.md", "text/markdown", {"404", "409"}),
    ]:
        operation = paths[path]["get"]
        assert operation["summary"] and operation["security"], path
        responses = operation["responses"]
        assert set(responses["200"]["content"]) == {media_type}
        assert {"ETag", "Content-Disposition"} <= set(responses["200"]["headers"])
        assert {"304", "401", "429", "503"} | refusals <= set(responses)
        assert "If-None-Match" in [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert f"GET {path}" in ENDPOINTS
