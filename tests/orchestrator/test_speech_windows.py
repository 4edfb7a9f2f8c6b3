"""Audio windows for speech-to-text: how they are cut, how their segments are joined across borders,
what counts as heard, and which server hears."""

import random

import pytest

from orchestrator.clients.speech import _timed_items
from orchestrator.config import ModelEndpoint, OrchestratorSettings
from orchestrator.deployments import Deployments
from orchestrator.speech_windows import (
    HeardSegment,
    drop_doubted,
    merge_windows,
    only_hallucinations,
    plan_windows,
)
from service_common.contracts import TranscriptSegment
from tests.support.standin_speech_server import SpeechScript


def test_windows_cover_the_audio_overlapping_with_cut_points_in_each_overlap():
    windows = plan_windows(47.0, 10.0, 2.0)
    assert [(w.start, w.end) for w in windows] == [(0, 10), (8, 18), (16, 26), (24, 34), (32, 42), (40, 47)]
    assert windows[0].keep_from == 0 and windows[-1].keep_until == float("inf")
    for before, after in zip(windows, windows[1:], strict=False):
        assert before.keep_until == after.keep_from == (after.start + before.end) / 2
    # The overlap is capped at a quarter of a window, and a short video is one window.
    assert [(w.start, w.end) for w in plan_windows(10.0, 4.0, 30.0)] == [(0, 4), (3, 7), (6, 10)]
    assert [(w.start, w.end) for w in plan_windows(3.0, 600.0, 5.0)] == [(0, 3)]


def heard_by_each(script: SpeechScript, windows, jitter_s: float = 0.0, with_words: bool = True, seed: int = 1):
    """Each window's segments as a model would give them, on the video's clock; `jitter_s` moves each
    window's times a little, as a model's timing differs between two hearings of the same words."""
    rng = random.Random(seed)
    heard = []
    for window in windows:
        shift = window.start + rng.uniform(-jitter_s, jitter_s)
        segments, words = script.heard(window.start, window.length)
        timed_words = [TranscriptSegment(start=w["start"] + shift, end=w["end"] + shift, text=w["word"])
                       for w in words]
        heard.append([HeardSegment(
            TranscriptSegment(start=s["start"] + shift, end=s["end"] + shift, text=s["text"].strip()),
            tuple(w for w in timed_words if s["start"] + shift <= w.start and w.end <= s["end"] + shift)
            if with_words else ()) for s in segments])
    return heard


WORDS = [(round(0.35 * i, 3), round(0.35 * i + 0.3, 3), f"w{i}") for i in range(130)]  # 45.8 s of speech


@pytest.mark.parametrize("segment_words", [1, 4, 9])
def test_with_word_timings_no_word_is_doubled_or_lost_at_a_border(segment_words):
    windows = plan_windows(46.0, 10.0, 2.0)
    merged = merge_windows(windows, heard_by_each(SpeechScript(words=WORDS, segment_words=segment_words), windows))
    assert " ".join(s.text for s in merged) == " ".join(w for _, _, w in WORDS)
    # Segments keep their words' times; one that crossed a cut point is split there, in time order.
    assert [s.start for s in merged] == sorted(s.start for s in merged)
    starts = {start for start, _, _ in WORDS}
    assert all(s.start in starts for s in merged)


@pytest.mark.parametrize("jitter_s", [0.0, 0.08])
def test_without_word_timings_no_short_segment_is_doubled_or_lost_at_a_border(jitter_s):
    windows = plan_windows(46.0, 10.0, 2.0)
    merged = merge_windows(windows, heard_by_each(SpeechScript(words=WORDS), windows, jitter_s, with_words=False))
    assert [s.text for s in merged] == [w for _, _, w in WORDS]
    for segment, (start, end, _) in zip(merged, WORDS, strict=True):
        assert segment.start == pytest.approx(start, abs=jitter_s + 1e-6)
        assert segment.end == pytest.approx(end, abs=jitter_s + 1e-6)


def test_a_long_segment_cut_by_one_window_is_kept_whole_from_the_other():
    windows = plan_windows(20.0, 10.0, 2.0)  # (0, 10) and (8, 18) cut at 9, then (16, 20)
    sentence = (8.5, 12.0, "a long sentence across the border")
    merged = merge_windows(windows, heard_by_each(SpeechScript(words=[sentence]), windows, with_words=False))
    # Window one hears it cut at 10 s (midpoint 9.25, near its side); window two hears it whole.
    assert [(s.start, s.end, s.text) for s in merged] == [sentence]


def test_known_hallucinations_are_dropped_only_when_the_model_doubts_them_or_are_all_there_is():
    def seg(text, doubt, start=0.0):
        return HeardSegment(TranscriptSegment(start=start, end=start + 1, text=text), no_speech=doubt)

    said = [seg("Thank you for watching.", 0.9), seg("We meet at noon.", 0.9, 2), seg("[Music]", 0.1, 4),
            seg("♪ ♪", 0.1, 5)]
    assert [s.segment.text for s in drop_doubted(said)] == ["We meet at noon."]
    # A real "thank you" the model is sure of stays, unless it is all that was heard.
    sure = [seg("Thank you for watching.", 0.05), seg("We meet at noon.", 0.1, 2)]
    assert [s.segment.text for s in drop_doubted(sure)] == ["Thank you for watching.", "We meet at noon."]
    assert only_hallucinations([seg("Thanks for watching!", 0.1).segment, seg("you", 0.1).segment])
    assert not only_hallucinations([seg("Thank you.", 0.1).segment, seg("We meet at noon.", 0.1).segment])


def test_the_speech_server_is_the_lite_server_by_default_and_speech_to_text_wins():
    lite = OrchestratorSettings(lite_models_url="http://127.0.0.1:9/v1")
    assert Deployments.from_settings(lite).speech == ModelEndpoint(base_url="http://127.0.0.1:9/v1",
                                                                   model="lite-speech")
    named = OrchestratorSettings(speech_model_name="lite-ears")
    assert Deployments.from_settings(named).speech.model == "lite-ears"
    own = ModelEndpoint(base_url="http://127.0.0.1:7/v1", model="whisper-large-v3")
    assert Deployments.from_settings(OrchestratorSettings(speech_to_text=own, model_backend="vllm")).speech == own
    # Deployments that list a speech role use it; deployments without one have no speech-to-text.
    text = ModelEndpoint(base_url="http://127.0.0.1:5/v1", model="llama")
    with_speech = {"text": {"int4": text}, "speech": {"int8": own}}
    assert Deployments.from_settings(OrchestratorSettings(model_endpoints=with_speech)).speech == own
    assert Deployments.from_settings(OrchestratorSettings(model_endpoints={"text": {"int4": text}})).speech is None


def test_times_an_answer_gives_past_its_window_are_kept_within_it():
    """vLLM's Whisper has answered a 3 s clip with a segment ending at 35.52 s."""
    items = _timed_items([{"start": 0.4, "end": 35.52, "text": "hello"}, {"start": 40.0, "end": 41.0, "text": "x"},
                          {"start": float("nan"), "end": 1.0, "text": "y"}], 600.0, 3.0, "text")
    assert [(s.start, s.end, s.text) for s in items] == [(600.4, 603.0, "hello"), (603.0, 603.0, "x")]
