"""Cutting a long transcript into parts that fit the text model's context."""

from orchestrator.summarize import transcript_parts


def test_short_transcripts_are_one_part():
    assert transcript_parts("a short talk.", None, 100) == ["a short talk."]
    assert transcript_parts(None, None, 100) == []


def test_segments_are_grouped_with_their_time_ranges():
    segments = [{"start": i * 10.0, "end": i * 10.0 + 9, "text": f"sentence number {i}."} for i in range(30)]
    text = " ".join(s["text"] for s in segments)
    parts = transcript_parts(text, segments, 200)
    assert len(parts) > 1
    assert parts[0].startswith("[00:00–") and parts[-1].endswith("sentence number 29.")
    assert all(len(part) <= 200 + len("[00:00–00:00] ") for part in parts)
    rejoined = " ".join(part.split("] ", 1)[1] for part in parts)
    assert rejoined == text  # nothing lost, nothing repeated


def test_text_without_segments_is_cut_between_words():
    text = " ".join(f"word{i}" for i in range(500))
    parts = transcript_parts(text, None, 300)
    assert " ".join(parts) == text and all(len(part) <= 300 for part in parts)
