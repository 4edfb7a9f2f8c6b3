"""Cutting a long transcript into parts that fit the text model's context."""

from orchestrator.summarize import TranscriptPart, transcript_parts


def test_short_transcripts_are_one_part():
    assert transcript_parts("a short talk.", None, 100) == [TranscriptPart("a short talk.")]
    assert transcript_parts(None, None, 100) == []
    segments = [{"start": 0.0, "end": 2.0, "text": "a short"}, {"start": 65.4, "end": 67.0, "text": "talk."}]
    assert transcript_parts("a short talk.", segments, 100) == [
        TranscriptPart("[00:00] a short\n[01:05] talk.", 0.0, 67.0)]


def test_segments_are_grouped_with_their_time_ranges():
    segments = [{"start": i * 10.0, "end": i * 10.0 + 9, "text": f"sentence number {i}."} for i in range(30)]
    text = " ".join(s["text"] for s in segments)
    parts = transcript_parts(text, segments, 200)
    assert len(parts) > 1
    assert parts[0].time_range().startswith("[00:00–") and parts[-1].text.endswith("sentence number 29.")
    assert parts[-1].time_range().endswith("–04:59] ")
    assert all(len(part.text) <= 200 for part in parts)
    lines = [line for part in parts for line in part.text.split("\n")]
    # Nothing lost, nothing repeated, each line with its segment's start.
    assert lines == [f"[{i // 6:02d}:{i * 10 % 60:02d}] sentence number {i}." for i in range(30)]
    for part in parts:  # each part's range is that of its own segments
        numbers = [int(line.rsplit(" ", 1)[1].rstrip(".")) for line in part.text.split("\n")]
        assert (part.start, part.end) == (segments[numbers[0]]["start"], segments[numbers[-1]]["end"])


def test_text_without_segments_is_cut_between_words():
    text = " ".join(f"word{i}" for i in range(500))
    parts = transcript_parts(text, None, 300)
    assert " ".join(part.text for part in parts) == text and all(len(part.text) <= 300 for part in parts)
    assert all(part.time_range() == "" for part in parts)
