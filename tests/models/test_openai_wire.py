"""What the OpenAI-compatible backend sends, read on the wire by a local HTTP server that records requests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from medtrust.models.base import GenerationRequest, server_seed
from medtrust.models.images import data_url_to_image
from medtrust.models.openai_api import OpenAIBackend


class Recorder(BaseHTTPRequestHandler):
    """Answers every chat completion with one fixed choice and keeps the request bodies."""

    bodies: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        type(self).bodies.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        answer = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                  "choices": [{"index": i, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": f"a red square {i}"},
                               "logprobs": {"content": [{"token": "a", "logprob": -0.5, "bytes": None,
                                                         "top_logprobs": []}]}}
                              for i in range(body.get("n", 1))],
                  "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    Recorder.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", Recorder.bodies
    server.shutdown()
    server.server_close()


def test_images_travel_as_data_urls_with_the_text(recorder, tmp_path):
    url, bodies = recorder
    path = tmp_path / "scan.png"
    original = Image.new("RGB", (12, 9), (200, 30, 30))
    original.putpixel((3, 4), (0, 255, 0))
    original.save(path)
    backend = OpenAIBackend("vlm", name="openai-api/rec/vlm", base_url=url, api_key="k1", env_prefix="REC",
                            images=True, max_retries=0)
    msgs = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "image", "image": str(path)},
                                         {"type": "text", "text": "What colour is it?"}]}]
    request = GenerationRequest(messages=msgs, n=2, temperature=0.7, max_tokens=5, logprobs=True, seed=3,
                                stop=("\n",))
    out = backend.generate([request])
    assert [c.text for c in out[0]] == ["a red square 0", "a red square 1"]
    assert out[0][0].token_logprobs == [-0.5]
    (sent,) = bodies
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer k1"
    body = sent["body"]
    assert body["model"] == "vlm" and body["n"] == 2 and body["temperature"] == 0.7 and body["max_tokens"] == 5
    # the seed of a sampled request is its first sample's own (server_seed of seed 3, the prompt, the settings)
    assert body["seed"] == server_seed(request, 0) and body["stop"] == ["\n"] and body["logprobs"] is True
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    image_part, text_part = body["messages"][1]["content"]
    assert text_part == {"type": "text", "text": "What colour is it?"}
    assert image_part["type"] == "image_url" and image_part["image_url"]["url"].startswith("data:image/png;base64,")
    decoded = data_url_to_image(image_part["image_url"]["url"]).convert("RGB")
    assert decoded.size == (12, 9) and list(decoded.getdata()) == list(original.getdata())
