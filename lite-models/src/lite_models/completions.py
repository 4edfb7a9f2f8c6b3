"""Answering one chat completion request: route to vision or text, shape the content, count tokens."""

import json
import re
from dataclasses import dataclass, replace

import numpy as np

from .chapters import chapters_of
from .config import LiteSettings
from .errors import ApiError
from .images import decode_data_url
from .language import asked_language, language_note
from .material import parse_material
from .ocr import TextReader
from .questions import answer_question, read_question
from .scene import describe_change, thumbnail
from .schemas import ChatCompletionRequest, ChatMessage
from .summarize import Summary, summarise_material
from .vision import VisionAnalyzer, analysis_document, describe

_WORD = re.compile(r"\S+")
# Images have no words to count; a flat charge keeps `usage` growing with the number of images.
IMAGE_PROMPT_TOKENS = 64


@dataclass(frozen=True)
class Completion:
    content: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def count_tokens(text: str) -> int:
    return len(_WORD.findall(text))


def truncate_words(text: str, limit: int) -> tuple[str, bool]:
    pieces = re.findall(r"\S+\s*", text)
    if len(pieces) <= limit:
        return text, False
    return "".join(pieces[:limit]).rstrip(), True


def fit_document(document: dict, limit: int) -> tuple[str, bool]:
    """JSON within `limit` words that is still valid JSON (cutting the text mid-way would not be).

    Gives up detail in the order a reader minds least: extra list items, then long strings
    down to a readable length, then everything else.
    """
    document = json.loads(json.dumps(document))
    trimmed = False
    for floor_items, floor_words in ((1, 12), (0, 12), (0, 1)):
        while (overflow := count_tokens(json.dumps(document, ensure_ascii=False)) - limit) > 0:
            lists = [k for k, v in document.items() if isinstance(v, list) and len(v) > floor_items]
            strings = [k for k, v in document.items() if isinstance(v, str) and count_tokens(v) > floor_words]
            if lists:
                # What the model could not do is said last of all to go.
                document[max(lists, key=lambda k: (k != "notes", len(document[k]), k))].pop()
            elif strings:
                key = max(strings, key=lambda k: (count_tokens(document[k]), k))
                keep = max(floor_words, count_tokens(document[key]) - overflow)
                document[key] = truncate_words(document[key], keep)[0]
            else:
                break
            trimmed = True
    return json.dumps(document, ensure_ascii=False), trimmed


def _last_user_message(messages: list[ChatMessage]) -> ChatMessage | None:
    users = [m for m in messages if m.role == "user"]
    if users:
        return users[-1]
    others = [m for m in messages if m.role not in ("system", "developer")]
    return others[-1] if others else None


def _text_answer(messages: list[ChatMessage], wants_json: bool) -> Summary:
    last = _last_user_message(messages)
    material = parse_material(last.text() if last else "")
    summary = summarise_material(material)
    if wants_json:
        summary = replace(summary, chapters=chapters_of(material))
    instructions = "\n".join(m.text() for m in messages if m.role in ("system", "developer"))
    spoken = " ".join(material.transcript + material.prose)
    note = language_note(asked_language(instructions), spoken or " ".join(material.frames),
                         "transcript" if material.transcript else "material")
    return replace(summary, notes=[note]) if note else summary


def _images_to_analyse(messages: list[ChatMessage]) -> list[str]:
    for message in reversed(messages):
        if message.role == "user" and message.image_urls():
            return message.image_urls()
    return []


class CompletionEngine:
    def __init__(self, settings: LiteSettings, analyzer: VisionAnalyzer | None = None):
        self.settings = settings
        self.analyzer = analyzer or VisionAnalyzer(reader=TextReader(
            enabled=settings.ocr_enabled, max_side=settings.ocr_max_side, threads=settings.ocr_threads))

    @property
    def model_ids(self) -> list[str]:
        return [self.settings.vision_model_name, self.settings.text_model_name]

    def check_model(self, model: str) -> None:
        if model not in self.model_ids:
            raise ApiError(404, f"The model `{model}` does not exist. Available models: "
                           f"{', '.join(self.model_ids)}.", code="model_not_found", param="model")

    def complete(self, request: ChatCompletionRequest) -> Completion:
        self.check_model(request.model)
        urls = _images_to_analyse(request.messages)
        if len(urls) > self.settings.max_images_per_request:
            raise ApiError(400, f"at most {self.settings.max_images_per_request} images per request",
                           code="too_many_images", param="messages")
        prompt_tokens = sum(count_tokens(m.text()) + IMAGE_PROMPT_TOKENS * len(m.image_urls())
                            for m in request.messages)
        last = _last_user_message(request.messages)
        asked = None if urls or last is None else read_question(last.text())
        if urls:
            document = self._vision_answer(urls, request.wants_json)
        elif asked is not None:
            # A question with numbered passages to answer from (see questions.py), not material to summarise.
            answer = answer_question(asked)
            document = {"answer": answer} if request.wants_json else answer
        else:
            # The vision model asked about text alone answers like the text model: both are chat models.
            summary = _text_answer(request.messages, request.wants_json)
            document = summary.as_document() if request.wants_json else summary.as_text()
        limit = request.token_limit
        if isinstance(document, dict):
            content, cut = fit_document(document, limit) if limit else (json.dumps(document, ensure_ascii=False),
                                                                         False)
        else:
            content, cut = truncate_words(document, limit) if limit else (document, False)
        return Completion(content, "length" if cut else "stop", prompt_tokens, count_tokens(content))

    def _vision_answer(self, urls: list[str], wants_json: bool) -> dict | str:
        images = [decode_data_url(url, self.settings.max_image_bytes) for url in urls]
        analyses = [self.analyzer.analyse(image) for image in images]
        # Images of one request are taken as frames in order: each after the first is compared with the one before.
        thumbs = [thumbnail(image) for image in images]
        changes = [None] + [describe_change(analyses[i - 1], analyses[i],
                                            float(np.abs(thumbs[i] - thumbs[i - 1]).mean()))
                            for i in range(1, len(analyses))]
        if wants_json:
            documents = [analysis_document(a) for a in analyses]
            for document, change in zip(documents, changes, strict=True):
                if change:
                    document["change_from_previous"] = change
            return documents[0] if len(documents) == 1 else {"images": documents}
        if len(analyses) == 1:
            return describe(analyses[0])
        return "\n\n".join(f"Image {i}: {describe(a)}" + (f" {change}" if change else "")
                             for i, (a, change) in enumerate(zip(analyses, changes, strict=True), 1))
