"""The official openai SDK, pointed at the gateway, works unchanged against the deployed models."""

import base64

import cv2
import numpy as np
import openai
import pytest
from openai import OpenAI

from tests.support.stack import Stack, running


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("openai")
    stack = Stack(database_url=f"sqlite:///{workdir / 'tasks.db'}", workdir=workdir,
                  extra_env={"RUN_WORKERS": "false"})
    with running(stack, "lite", "orchestrator", "gateway"):
        yield OpenAI(base_url=stack.url("gateway") + "/v1", api_key="unused", max_retries=0)


def test_models_lists_the_deployed_models(client):
    names = {model.id for model in client.models.list()}
    assert names == {"lite-vision", "lite-text"}
    assert client.models.retrieve("lite-text").id == "lite-text"


def test_chat_completion(client):
    material = ("Solar panels turn sunlight into electricity. Panels on a roof can power a house. "
                "Batteries store the energy for the night. Solar power keeps getting cheaper.")
    reply = client.chat.completions.create(model="lite-text", messages=[{"role": "user", "content": material}])
    assert reply.choices[0].message.role == "assistant"
    assert "Solar" in reply.choices[0].message.content and reply.usage.total_tokens > 0


def test_streaming_chat_completion(client):
    stream = client.chat.completions.create(
        model="lite-text", stream=True,
        messages=[{"role": "user", "content": "Rivers carry water to the sea. The sea is salty."}])
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert "sea" in text


def test_image_message(client):
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, :80] = (0, 0, 255)  # red half (BGR)
    image[:, 80:] = (255, 0, 0)  # blue half
    data_url = "data:image/jpeg;base64," + base64.b64encode(cv2.imencode(".jpg", image)[1]).decode()
    reply = client.chat.completions.create(model="lite-vision", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": data_url}}]}])
    description = reply.choices[0].message.content.lower()
    assert "red" in description and "blue" in description


def test_unknown_model_is_a_not_found_error(client):
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert "gpt-4o" in str(raised.value) and "lite-text" in str(raised.value)
