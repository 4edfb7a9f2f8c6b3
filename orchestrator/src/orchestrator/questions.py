"""Questions about a finished task, answered by its text model from the passages that match them.

Retrieval first (passages.py): the model is shown the question and a few numbered passages with their
times, never the whole transcript, so a three-hour video costs as little to ask about as a short one. It
answers from them only, citing them as [n]; the citations returned are the passages it cited (renumbered
in the order the answer cites them, and its markers with them), or, when it cited none, the given passages
that matched the question best. The same prompt goes to vLLM and to the lite server, whose text model
answers it extractively (lite_models.questions).
"""

import asyncio
import re
from functools import partial

from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool

from service_common.contracts import AskAnswer, Citation, TaskStatus
from service_common.errors import TransientError

from .clients.models import ModelClient
from .config import ModelEndpoint, OrchestratorSettings
from .deployments import Deployments
from .models import Task
from .passages import Match, Passage, best_passages, task_passages

MAX_PASSAGES = 6  # passages shown to the model for one question
FALLBACK_CITATIONS = 2  # passages cited when the model cites none
ANSWER_TOKENS = 400
# Questions waiting for or being answered in one orchestrator process; more are answered 503 at once, so
# that a burst of slow answers never holds every connection the gateway has to this service.
MAX_QUESTIONS_IN_FLIGHT = 32
BUSY_RETRY_AFTER_S = 5
NOTHING_TO_ASK = "This task has no transcript, chapters or frame descriptions to answer from."

QUESTION_SYSTEM_PROMPT = (
    "You answer a question about a video using only the numbered passages given: parts of its transcript, "
    "its chapters and descriptions of its frames, each with its time. After each statement, cite the "
    "passages it comes from by their numbers in brackets, e.g. [2] or [1][3]. If the passages do not answer "
    "the question, say so briefly. Answer in the language of the question, in at most four sentences."
)


class TaskNotAnswerable(Exception):
    """The task exists but cannot be asked about yet (or ever): it is not completed."""

    def __init__(self, task_id: str, status: str):
        if status == TaskStatus.FAILED.value:
            super().__init__(f"Task {task_id} failed: only a completed task can be asked about")
        else:
            super().__init__(f"Task {task_id} is {status}: questions can be asked once its status is completed")
        self.status = status


class QuestionsBusy(Exception):
    """More questions are in flight in this process than it takes at once."""


_MATERIAL = (Task.status, Task.request, Task.video_info, Task.transcript_segments, Task.chapters, Task.frames)


def _material_row(connection: Connection, task_id: str, owner: str):
    query = select(*(Task.__table__.c[column.key] for column in _MATERIAL)).where(
        Task.__table__.c.id == task_id, Task.__table__.c.owner == owner)
    return connection.execute(query).first()


def question_messages(question: str, passages: list[Passage], title: str | None = None) -> list[dict]:
    """The system prompt, and the question with the numbered passages (lite_models.questions reads them)."""
    heading = f"Video: {title}\n" if title else ""
    lines = [f"[{n}] ({p.label()}) {p.text}" for n, p in enumerate(passages, 1)]
    user = f"{heading}Question: {' '.join(question.split())}\n\nPassages:\n" + "\n".join(lines)
    return [{"role": "system", "content": QUESTION_SYSTEM_PROMPT}, {"role": "user", "content": user}]


# "[2]", "[1, 3]", "[2-4]": what a model writes to cite passages.
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*)\]")
_RANGE = re.compile(r"\s*(\d+)\s*(?:[–-]\s*(\d+)\s*)?")


def _numbers(group: str) -> list[int]:
    """"2", "1, 3", "2-4" as the passage numbers they name (a range spans ten at most)."""
    numbers: list[int] = []
    for piece in re.split(r"[,;]", group):
        low, high = _RANGE.fullmatch(piece).groups()
        low, high = int(low), int(high or low)
        numbers.extend(range(low, high + 1) if 0 <= high - low < 10 else [low, high])
    return numbers


def cited_passages(answer: str, count: int) -> tuple[str, list[int]]:
    """The answer with its markers renumbered in the order it first cites passages, and those passages'
    indexes (0-based, into the `count` it was given). Numbers outside 1..count are dropped from a marker;
    a marker naming none of the passages ("[2024]") is left as it was."""
    order: list[int] = []

    def renumber(marker: re.Match) -> str:
        valid = [n - 1 for n in _numbers(marker.group(1)) if 1 <= n <= count]
        if not valid:
            return marker.group(0)
        for index in valid:
            if index not in order:
                order.append(index)
        kept = dict.fromkeys(order.index(i) + 1 for i in valid)
        return "".join(f"[{n}]" for n in kept)

    return _MARKER.sub(renumber, answer).strip(), order


def build_answer(content: str, matches: list[Match]) -> AskAnswer:
    """The model's answer with the passages it cited, or the best-matching ones when it cited none."""
    text, cited = cited_passages(content, len(matches))
    if not cited:
        best = sorted((i for i, m in enumerate(matches) if m.score > 0), key=lambda i: -matches[i].score)
        cited = sorted(best[:FALLBACK_CITATIONS])
    citations = [Citation(start=matches[i].passage.start, end=matches[i].passage.end, text=matches[i].passage.text)
                 for i in cited]
    return AskAnswer(answer=text, citations=citations)


class Questions:
    """Answers questions about tasks, on the text model each task used."""

    def __init__(self, settings: OrchestratorSettings, sessions, models: ModelClient, deployments: Deployments):
        self._settings = settings
        self._deployments = deployments
        self._sessions = sessions
        self._models = models
        self._in_flight = 0

    def _endpoint(self, tier: str | None) -> ModelEndpoint | None:
        """The task's text tier while it is deployed, else any deployed text tier."""
        return self._deployments.endpoint("text", tier) or next(iter(self._deployments.tiers("text").values()), None)

    async def ask(self, task_id: str, owner: str, question: str) -> AskAnswer | None:
        """The answer, or None when the owner has no such task. Raises TaskNotAnswerable, QuestionsBusy,
        and the model client's ServiceError when the text model fails."""
        if self._in_flight >= MAX_QUESTIONS_IN_FLIGHT:
            raise QuestionsBusy()
        self._in_flight += 1
        try:
            return await self._ask(task_id, owner, question)
        finally:
            self._in_flight -= 1

    async def _ask(self, task_id: str, owner: str, question: str) -> AskAnswer | None:
        row = await self._sessions.read_awaited(partial(_material_row, task_id=task_id, owner=owner))
        if row is None:
            return None
        if row.status != TaskStatus.COMPLETED.value:
            raise TaskNotAnswerable(task_id, row.status)
        # Splitting and scoring a long transcript is CPU work: kept off the event loop.
        matches = await run_in_threadpool(_retrieve, question, row)
        if not matches:
            return AskAnswer(answer=NOTHING_TO_ASK, citations=[])
        endpoint = self._endpoint((row.request or {}).get("text_quantization"))
        if endpoint is None:
            raise TransientError("no text model is deployed")
        messages = question_messages(question, [m.passage for m in matches], (row.video_info or {}).get("title"))
        try:
            # Each model call is bounded, and retried; this bounds the whole, as the text stage is.
            content = await asyncio.wait_for(self._models.chat(
                endpoint, messages, "the text model failed to answer", max_tokens=ANSWER_TOKENS, temperature=0),
                self._settings.text_timeout_s)
        except TimeoutError:
            raise TransientError(f"the text model gave no answer within {self._settings.text_timeout_s:g} s") from None
        return build_answer(content, matches)


def _retrieve(question: str, row) -> list[Match]:
    passages = task_passages(row.transcript_segments, row.chapters, row.frames)
    return best_passages(question, passages, MAX_PASSAGES) if passages else []
