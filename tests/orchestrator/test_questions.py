"""Questions about a task: its passages, BM25 retrieval, the prompt, reading the model's citations, and the
whole ask on a real SQLite task database (the text model is a recording stand-in: the real ones are asked
end to end, tests/e2e/test_questions.py)."""

import asyncio

import pytest
from sqlalchemy import update

from lite_models.questions import read_question
from orchestrator.config import ModelEndpoint, OrchestratorSettings
from orchestrator.db import create_db_engine, create_session_factory
from orchestrator.deployments import Deployments
from orchestrator.migrate import upgrade_to_head
from orchestrator.models import Task
from orchestrator.passages import (
    Match,
    Passage,
    best_passages,
    bm25_scores,
    task_passages,
    terms,
    transcript_windows,
)
from orchestrator.questions import (
    MAX_PASSAGES,
    NOTHING_TO_ASK,
    Questions,
    TaskNotAnswerable,
    build_answer,
    cited_passages,
    question_messages,
)
from orchestrator.tasks import create_task
from service_common.contracts import Citation, TaskCreate

TOPICS = ["the weather in the mountains", "a recipe for bread", "how engines burn fuel", "the history of maps",
          "training for a marathon", "repairing an old bicycle", "the price of coffee", "painting a fence"]


def segment(start: float, text: str, length: float = 4.0) -> dict:
    return {"start": start, "end": start + length, "text": text}


def long_talk(count: int = 300) -> list[dict]:
    """A talk of `count` segments, 5 s apart, on rotating topics; one segment alone speaks of giraffes."""
    segments = [segment(i * 5.0, f"Now a word about {TOPICS[i % len(TOPICS)]}, part {i}.") for i in range(count)]
    if count > 217:
        segments[217] = segment(217 * 5.0, "The giraffe at the zoo eats leaves from the tallest acacia tree.")
    return segments


def test_transcript_windows_group_a_few_segments_with_their_times():
    segments = [segment(i * 3.0, f"  line\n number {i} ") for i in range(7)] + [segment(30.0, "   ")]
    windows = transcript_windows(segments, size=3)
    assert [w.text for w in windows] == ["line number 0 line number 1 line number 2",
                                         "line number 3 line number 4 line number 5", "line number 6"]
    assert [(w.start, w.end) for w in windows] == [(0.0, 10.0), (9.0, 19.0), (18.0, 22.0)]
    assert {w.kind for w in windows} == {"transcript"}


def test_a_window_closes_before_it_grows_too_long():
    segments = [segment(0.0, "a" * 250), segment(4.0, "b" * 250), segment(8.0, "c" * 250), segment(12.0, "d" * 900)]
    windows = transcript_windows(segments, size=3, max_chars=600)
    assert [(w.text[0], len(w.text)) for w in windows] == [("a", 501), ("c", 250), ("d", 600)]
    assert [w.start for w in windows] == [0.0, 8.0, 12.0]


def test_task_passages_take_chapters_and_frames_at_their_times():
    chapters = [{"start": 0.0, "end": 60.0, "title": "Intro", "summary": "Who is speaking."},
                {"start": 60.0, "end": 90.0, "title": "Outro", "summary": ""}]
    frames = [{"index": 0, "timestamp": 12.5, "analysis": "A man at a desk."},
              {"index": 1, "timestamp": 40.0, "analysis": None}]
    passages = task_passages([segment(1.0, "Hello.")], chapters, frames)
    assert passages == [Passage("transcript", 1.0, 5.0, "Hello."),
                        Passage("chapter", 0.0, 60.0, "Intro: Who is speaking."),
                        Passage("chapter", 60.0, 90.0, "Outro"), Passage("frame", 12.5, 12.5, "A man at a desk.")]
    assert passages[3].label() == "frame 00:12" and passages[1].label() == "chapter 00:00–01:00"
    assert task_passages(None, None, None) == []


def test_terms_drop_stop_words_and_fold_plurals():
    assert terms("What are the Giraffes eating, and where?") == ["giraffe", "eating"]
    assert terms("glass bus cats") == ["glass", "bus", "cat"]
    assert terms("東京タワー") == ["東京", "京タ", "タワ", "ワー"]  # unspaced scripts: overlapping pairs


def test_bm25_prefers_rare_terms_and_saturates_repetition():
    documents = [terms("the giraffe eats leaves"), terms("the zoo opens at nine"), terms("the zoo zoo zoo zoo"),
                 terms("nothing in common")]
    scores = bm25_scores(terms("giraffe zoo"), documents)
    assert scores[0] > scores[1] > 0 and scores[3] == 0
    assert scores[2] < 2 * scores[1], "four mentions do not count four times"
    assert bm25_scores(["x"], []) == []


def test_retrieval_finds_the_one_window_that_answers_in_a_long_talk():
    passages = task_passages(long_talk(), None, None)
    assert len(passages) == 100
    matches = best_passages("What does the giraffe eat?", passages, 4)
    best = max(matches, key=lambda m: m.score)
    assert "giraffe" in best.passage.text and (best.passage.start, best.passage.end) == (1080.0, 1094.0)
    assert len(matches) == 1, "passages that share no term with the question are not shown"
    many = best_passages("bread and coffee", passages, MAX_PASSAGES)
    assert len(many) == MAX_PASSAGES
    assert [m.passage.start for m in many] == sorted(m.passage.start for m in many), "shown in time order"


def test_a_question_matching_nothing_is_shown_the_chapters_or_else_the_video_spread():
    chapters = [{"start": i * 100.0, "end": (i + 1) * 100.0, "title": f"Part {i}", "summary": TOPICS[i]}
                for i in range(3)]
    with_chapters = best_passages("Is it any good?", task_passages(long_talk(), chapters, None), 6)
    assert [m.passage.kind for m in with_chapters] == ["chapter"] * 3 and all(m.score == 0 for m in with_chapters)
    spread = best_passages("Is it any good?", task_passages(long_talk(), None, None), 4)
    starts = [m.passage.start for m in spread]
    assert len(spread) == 4 and starts[0] == 0.0 and starts[-1] > 1000.0


def test_the_prompt_numbers_the_passages_and_the_lite_server_reads_it_back():
    passages = [Passage("transcript", 3.0, 8.5, "The red square moves."), Passage("frame", 65.0, 65.0, "A red square.")]
    system, user = question_messages("  Where is\nthe square? ", passages, "Demo")
    assert "only the numbered passages" in system["content"] and "[2]" in system["content"]
    assert user["content"] == ("Video: Demo\nQuestion: Where is the square?\n\nPassages:\n"
                               "[1] (transcript 00:03–00:08) The red square moves.\n[2] (frame 01:05) A red square.")
    asked = read_question(user["content"])
    assert asked.question == "Where is the square?"
    assert asked.passages == {1: "The red square moves.", 2: "A red square."}


@pytest.mark.parametrize(("answer", "expected", "order"), [
    ("It moves [2]. It is red [1][2].", "It moves [1]. It is red [2][1].", [1, 0]),
    ("Both [1, 3] and [2-3].", "Both [1][2] and [3][2].", [0, 2, 1]),
    ("In [2024] it [9] said [7, 2].", "In [2024] it [9] said [1].", [1]),
    ("No citation at all.", "No citation at all.", []),
])
def test_citations_are_renumbered_in_the_order_the_answer_gives_them(answer, expected, order):
    assert cited_passages(answer, 3) == (expected, order)


def _matches() -> list[Match]:
    return [Match(Passage("transcript", 0.0, 9.0, "first"), 1.5), Match(Passage("chapter", 0.0, 60.0, "second"), 0.0),
            Match(Passage("frame", 20.0, 20.0, "third"), 3.0), Match(Passage("transcript", 30.0, 39.0, "fourth"), 2.0)]


def test_the_answer_cites_the_passages_the_model_cited():
    answer = build_answer("The frame shows it [3], said at the start [1].", _matches())
    assert answer.answer == "The frame shows it [1], said at the start [2]."
    assert answer.citations == [Citation(start=20.0, end=20.0, text="third"),
                                Citation(start=0.0, end=9.0, text="first")]


def test_an_answer_citing_nothing_cites_the_best_matching_passages_given():
    answer = build_answer("It is about engines.", _matches())
    assert answer.answer == "It is about engines."
    assert [c.text for c in answer.citations] == ["third", "fourth"]
    nothing_matched = [Match(m.passage, 0.0) for m in _matches()]
    assert build_answer("It is about engines.", nothing_matched).citations == []


class RecordingTextModel:
    """Stands in for the text model (no GPU here): records what it is asked, answers what it is told to."""

    def __init__(self, reply: str):
        self.reply, self.calls = reply, []

    async def chat(self, endpoint, messages, what, **options):
        self.calls.append((endpoint, messages, options))
        return self.reply


TIERS = {"int4": ModelEndpoint(base_url="http://text-int4/v1", model="small"),
         "int8": ModelEndpoint(base_url="http://text-int8/v1", model="bigger")}


@pytest.fixture
def task_store(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'tasks.db'}")
    upgrade_to_head(engine)
    yield create_session_factory(engine)
    engine.dispose()


def _task(sessions, owner: str = "alice", **columns) -> str:
    record, _ = create_task(sessions, TaskCreate(youtube_url="https://example.com/talk.mp4", text_quantization="int8"),
                            owner=owner)
    if columns:
        with sessions.begin() as session:
            session.execute(update(Task).where(Task.id == record.task_id).values(**columns))
    return record.task_id


def _questions(sessions, model: RecordingTextModel) -> Questions:
    settings = OrchestratorSettings(model_endpoints={"text": TIERS, "vision": TIERS})
    return Questions(settings, sessions, model, Deployments.from_settings(settings))


def test_a_long_videos_question_shows_the_model_only_the_passages_that_match(task_store):
    task_id = _task(task_store, status="completed", transcript_segments=long_talk(), video_info={"title": "Talk"})
    model = RecordingTextModel("Leaves from the tallest acacia [1].")
    answer = asyncio.run(_questions(task_store, model).ask(task_id, "alice", "What does the giraffe eat?"))
    assert answer.answer == "Leaves from the tallest acacia [1]."
    assert [(c.start, c.end) for c in answer.citations] == [(1080.0, 1094.0)]
    assert "giraffe" in answer.citations[0].text
    [(endpoint, messages, options)] = model.calls
    assert endpoint.model == "bigger", "the task's own text tier answers"
    assert options["temperature"] == 0 and options["max_tokens"] > 0
    assert len(messages[1]["content"]) < 1000, "a 300-segment transcript, yet a short prompt"
    assert messages[1]["content"].startswith("Video: Talk\nQuestion: What does the giraffe eat?")


def test_only_a_completed_task_of_the_asker_is_answered(task_store):
    model = RecordingTextModel("unused")
    questions = _questions(task_store, model)
    running = _task(task_store, status="downloading")
    with pytest.raises(TaskNotAnswerable, match=f"Task {running} is downloading: questions can be asked once"):
        asyncio.run(questions.ask(running, "alice", "Anything?"))
    failed = _task(task_store, status="failed")
    with pytest.raises(TaskNotAnswerable, match=f"Task {failed} failed: only a completed task"):
        asyncio.run(questions.ask(failed, "alice", "Anything?"))
    done = _task(task_store, status="completed", transcript_segments=long_talk(9))
    assert asyncio.run(questions.ask(done, "bob", "Anything?")) is None, "another owner's task is not found"
    empty = _task(task_store, status="completed")
    answer = asyncio.run(questions.ask(empty, "alice", "Anything?"))
    assert answer.answer == NOTHING_TO_ASK and answer.citations == []
    assert model.calls == [], "nothing was asked of the model"
