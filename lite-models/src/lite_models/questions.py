"""Answering a question from numbered passages, extractively: the sentences of the passages that best match
the question, quoted, each followed by its passage's number as a citation ([n]).

A request is a question when its last user message has a `Question:` line and, after it, a `Passages:`
section of `[n] (label) text` lines: what the orchestrator sends to any text model (orchestrator.questions).
Recognising that shape here keeps the orchestrator's way of asking the same for vLLM and for this server.
"""

import re
from dataclasses import dataclass

import numpy as np

from .material import split_sentences
from .summarize import tfidf
from .words import content_words

_QUESTION = re.compile(r"^\s*Question:\s*(\S.*)$", re.IGNORECASE)
_PASSAGES = re.compile(r"^\s*Passages:\s*$", re.IGNORECASE)
_PASSAGE = re.compile(r"^\s*\[(\d{1,4})\]\s*(?:\([^)]*\)\s*)?(.*)$")
NO_ANSWER = "None of the passages answers this question."
# A passage is quoted when it matches at least this share of the best one's score; at most this many.
RELATIVE_SCORE = 0.5
MAX_QUOTED = 2
SENTENCES_PER_PASSAGE = 2


@dataclass(frozen=True)
class AskedQuestion:
    question: str
    passages: dict[int, str]  # number -> text, in the order given


def read_question(text: str) -> AskedQuestion | None:
    """The question and its passages, when `text` is shaped as one; else None (e.g. summary material)."""
    question, passages, number, in_passages = None, {}, None, False
    for line in text.splitlines():
        if question is None:
            asked = _QUESTION.match(line)
            question = asked.group(1).strip() if asked else None
        elif not in_passages:
            in_passages = bool(_PASSAGES.match(line))
        elif passage := _PASSAGE.match(line):
            number = int(passage.group(1))
            passages[number] = passage.group(2).strip()
        elif number is not None and line.strip():
            passages[number] = f"{passages[number]} {line.strip()}".strip()  # a passage's text went on
    return AskedQuestion(question, passages) if question and passages else None


def _similarities(question: str, texts: list[str]) -> np.ndarray:
    """Cosine similarity of each text to the question, in TF-IDF over the question and the texts."""
    vectors = tfidf([content_words(question)] + [content_words(t) for t in texts])
    return vectors[1:] @ vectors[0]


def _best_sentences(question: str, text: str) -> str:
    """The passage's sentences that match the question best (in their order), or the whole passage."""
    sentences = split_sentences([text])
    if len(sentences) <= 1:
        return text
    scores = _similarities(question, sentences)
    best = sorted(np.argsort(-scores, kind="stable")[:SENTENCES_PER_PASSAGE])
    kept = [sentences[i] for i in best if scores[i] > 0 and scores[i] >= RELATIVE_SCORE * scores.max()]
    return " ".join(kept) or text


def answer_question(asked: AskedQuestion) -> str:
    """The best-matching passages' sentences, quoted and cited, in the order of the passages' numbers."""
    numbers = list(asked.passages)
    scores = _similarities(asked.question, [asked.passages[n] for n in numbers])
    if not len(scores) or scores.max() <= 0:
        return NO_ANSWER
    ranked = [i for i in np.argsort(-scores, kind="stable") if scores[i] >= RELATIVE_SCORE * scores.max()]
    quotes: dict[int, str] = {}
    for i in ranked:
        quote = _best_sentences(asked.question, asked.passages[numbers[i]])
        # The same words in another passage (a chapter repeating the transcript) add nothing.
        if not any(quote.lower() in q.lower() or q.lower() in quote.lower() for q in quotes.values()):
            quotes[numbers[i]] = quote
        if len(quotes) == MAX_QUOTED:
            break
    return " ".join(f"“{quotes[n]}” [{n}]" for n in sorted(quotes))
