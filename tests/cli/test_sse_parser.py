"""The event-stream parser on crafted bytes: however the stream is cut into chunks, the same events."""

import pytest

from video_analysis_cli.sse import ServerSentEvent, SSEParser, iter_events

STREAM = (
    b": connected\n\n"
    b"id: 1\nevent: progress\ndata: {\"status\": \"downloading\"}\n\n"
    b": heartbeat\n"
    b"id: 2\nevent: progress\ndata: {\"status\":\ndata:  \"analyzing_vision\"}\n\n"
    b"id: 3\nevent: done\ndata: {\"status\": \"completed\", \"summary\": \"caf\xc3\xa9 \xe2\x9c\x93\"}\n\n"
)
EXPECTED = [
    ServerSentEvent(event="progress", data='{"status": "downloading"}', id="1"),
    ServerSentEvent(event="progress", data='{"status":\n "analyzing_vision"}', id="2"),
    ServerSentEvent(event="done", data='{"status": "completed", "summary": "café ✓"}', id="3"),
]


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(STREAM)])
def test_any_chunking_gives_the_same_events(size):
    assert list(iter_events(chunked(STREAM, size))) == EXPECTED


def test_every_single_split_point_gives_the_same_events():
    for cut in range(1, len(STREAM)):
        assert list(iter_events([STREAM[:cut], STREAM[cut:]])) == EXPECTED, f"cut at byte {cut}"


def test_crlf_and_cr_line_ends_even_when_a_crlf_is_split_between_chunks():
    parser = SSEParser()
    # Had the CR ending the first chunk been read as a line end of its own, the LF opening the next chunk
    # would be a blank line, and "a" would come out as an event by itself.
    assert parser.feed(b"event: progress\r\ndata: a\r") == []
    assert parser.feed(b"\ndata: b\r\n\r\n") == [ServerSentEvent(event="progress", data="a\nb")]
    assert parser.feed(b"data: c\r\rdata: d\n\n") == [ServerSentEvent(data="c"), ServerSentEvent(data="d")]


def test_comments_and_blocks_without_data_are_not_events():
    events = list(iter_events([b": heartbeat\n\n:\n\nevent: progress\n\nid: 7\n\ndata: x\n\n"]))
    # The id of the data-less block still becomes the last event id, as the format says.
    assert events == [ServerSentEvent(data="x", id="7")]


def test_field_values_lose_one_leading_space_only():
    events = list(iter_events([b"data:no-space\ndata:  two spaces\ndata\nevent:done\n\n"]))
    assert events == [ServerSentEvent(event="done", data="no-space\n two spaces\n")]


def test_an_event_cut_off_by_the_end_of_the_stream_is_dropped():
    assert list(iter_events([b"data: whole\n\n", b"event: done\ndata: {\"status\": "])) == [
        ServerSentEvent(data="whole")]


def test_a_byte_order_mark_and_a_final_lone_cr_are_handled():
    assert list(iter_events([b"\xef\xbb", b"\xbfdata: x\n\r"])) == [ServerSentEvent(data="x")]


def test_retry_and_unknown_fields():
    assert list(iter_events([b"retry: 1500\nfoo: bar\ndata: y\n\n"])) == [ServerSentEvent(data="y", retry=1500)]
