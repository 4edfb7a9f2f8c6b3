"""The lite text model's extractive answers to a question with numbered passages: the best-matching
sentences, quoted and cited as [n]; anything else is still summarised as before."""

import json

import httpx

from lite_models.questions import NO_ANSWER, answer_question, read_question

PROMPT = """Video: Colour bars demo
Question: What moves across the screen?

Passages:
[1] (transcript 00:00–00:08) Welcome to the colour bar demonstration video. The red square moves slowly across
the screen. Thank you for watching this short test recording.
[2] (frame 00:04) A well-lit, sharp 640×360 landscape frame. Dominant colours: dark red (41%), green (20%).
[3] (chapter 00:00–00:10) Demo: The red square moves slowly across the screen.
[4] (transcript 00:09–00:15) The end credits roll."""


def test_a_question_prompt_is_read_with_its_numbered_passages():
    asked = read_question(PROMPT)
    assert asked.question == "What moves across the screen?"
    assert list(asked.passages) == [1, 2, 3, 4]
    assert asked.passages[1].endswith("moves slowly across the screen. Thank you for watching this short test "
                                      "recording."), "a passage's text goes on over its next line"
    assert asked.passages[2].startswith("A well-lit") and asked.passages[4] == "The end credits roll."


def test_other_messages_are_not_questions():
    assert read_question("Title: A talk\n\nTranscript:\n[00:01] Hello there.\n\nFrames:\n[00:02] A desk.") is None
    assert read_question("Question: but no passages follow") is None
    assert read_question("Passages:\n[1] (frame 00:01) A desk.\nQuestion: asked after them") is None


def test_the_best_sentence_is_quoted_and_cited_once():
    answer = answer_question(read_question(PROMPT))
    # The transcript's sentence, not its whole window; the chapter only repeats it, and the frame does not match.
    assert answer.startswith("“The red square moves slowly across the screen.” [1]") or answer.startswith(
        "“Demo: The red square moves slowly across the screen.” [3]")
    assert answer.count("red square") == 1 and "[2]" not in answer and "[4]" not in answer
    assert "Welcome" not in answer and "Thank you" not in answer


def test_frames_answer_what_is_seen():
    asked = read_question(PROMPT.replace("What moves across the screen?", "Which colours are dominant?"))
    answer = answer_question(asked)
    assert answer == "“Dominant colours: dark red (41%), green (20%).” [2]"


def test_a_question_the_passages_do_not_touch_is_said_to_be_unanswered():
    assert answer_question(read_question(PROMPT.replace("What moves across the screen?", "Who won the match?"))) \
        == NO_ANSWER


def test_the_chat_endpoint_answers_questions_and_still_summarises(lite_server):
    def ask(content: str, **extra) -> str:
        response = httpx.post(f"{lite_server}/v1/chat/completions", timeout=30, json={
            "model": "lite-text", "messages": [{"role": "system", "content": "Answer from the passages."},
                                               {"role": "user", "content": content}], **extra})
        assert response.status_code == 200, response.text
        return response.json()["choices"][0]["message"]["content"]

    assert ask(PROMPT) == answer_question(read_question(PROMPT))
    as_json = json.loads(ask(PROMPT, response_format={"type": "json_object"}))
    assert as_json == {"answer": answer_question(read_question(PROMPT))}
    summary = ask("Title: A talk\n\nTranscript:\n[00:01] Solar panels turn sunlight into electricity.")
    assert "[1]" not in summary and "Solar panels" in summary
