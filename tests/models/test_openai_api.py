"""OpenAIBackend against a real llama.cpp server (see conftest.py), and the image payload helpers."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from medtrust.errors import BackendUnavailable, CapabilityError, MedtrustError
from medtrust.models.base import Capability, GenerationRequest
from medtrust.models.images import data_url_to_image, image_to_data_url, message_images, to_openai_messages
from medtrust.models.openai_api import OpenAIBackend
from medtrust.models.registry import resolve

QUESTION = [{"role": "user", "content": "Name one symptom of the flu."}]
TEXT_PART = {"type": "text", "text": "Say hi."}


def backend_for(server, **kwargs) -> OpenAIBackend:
    return OpenAIBackend(server.model, name=f"openai-api/local/{server.model}", base_url=server.base_url,
                         api_key=server.api_key, env_prefix="LOCAL", **kwargs)


# --------------------------------------------------------------------------- real server
@pytest.mark.server
def test_generation_returns_text(llama_server):
    backend = backend_for(llama_server)
    done = []
    out = backend.generate([GenerationRequest(QUESTION, temperature=0, max_tokens=16),
                            GenerationRequest([{"role": "user", "content": [TEXT_PART]}],
                                              temperature=0, max_tokens=8)],
                           progress=done.append)
    assert [len(c) for c in out] == [1, 1]
    assert all(c[0].text.strip() for c in out)
    assert all(c[0].finish_reason in ("stop", "length") for c in out)
    assert out[0][0].token_logprobs is None and out[0][0].token_ids == [] and out[0][0].reasoning is None
    assert sum(done) == 2
    assert backend.info() == {"name": "openai-api/local/smollm2", "backend": "openai", "model": "smollm2",
                              "base_url": llama_server.base_url}
    assert llama_server.api_key not in str(backend.info())
    assert backend.capabilities == {Capability.LOGPROBS}


@pytest.mark.server
def test_n_samples_fall_back_to_repeated_calls(llama_server):
    backend = backend_for(llama_server)
    assert backend._n_supported is None
    [samples] = backend.generate([GenerationRequest(QUESTION, n=3, temperature=1.0, max_tokens=12, seed=7)])
    assert len(samples) == 3
    assert backend._n_supported is False  # llama.cpp ignored n=3 and answered one choice
    # each repeated call sends its own sample seed (server_seed), so the samples are not one sample three times
    assert len({s.text for s in samples}) > 1
    # with the fallback remembered, another request still gets its n samples, in order
    out = backend.generate([GenerationRequest(QUESTION, n=2, temperature=0, max_tokens=6),
                            GenerationRequest(QUESTION, n=1, temperature=0, max_tokens=6)])
    assert [len(c) for c in out] == [2, 1]
    assert out[0][0].text == out[0][1].text == out[1][0].text


@pytest.mark.server
def test_token_logprobs_match_server_token_count(llama_server):
    backend = backend_for(llama_server)
    req = GenerationRequest(QUESTION, temperature=0, max_tokens=12, logprobs=True)
    [[c]] = backend.generate([req])
    assert c.token_logprobs and all(lp <= 0 for lp in c.token_logprobs)
    assert c.mean_logprob is not None and c.mean_logprob < 0
    # the same request straight through the SDK: the server's usage counts the completion tokens
    resp = backend.client.chat.completions.create(model=backend.model, messages=QUESTION, temperature=0,
                                                  max_tokens=12, logprobs=True, top_logprobs=1)
    assert len(c.token_logprobs) == resp.usage.completion_tokens
    assert c.token_logprobs == pytest.approx([t.logprob for t in resp.choices[0].logprobs.content], abs=1e-4)


@pytest.mark.server
def test_logprobs_can_be_switched_off(llama_server):
    backend = backend_for(llama_server, logprobs=False)
    assert Capability.LOGPROBS not in backend.capabilities
    [[c]] = backend.generate([GenerationRequest(QUESTION, temperature=0, max_tokens=4, logprobs=True)])
    assert c.text and c.token_logprobs is None


@pytest.mark.server
def test_temperature_zero_is_deterministic(llama_server):
    backend = backend_for(llama_server, concurrency=2)
    req = GenerationRequest(QUESTION, temperature=0, max_tokens=16)
    out = backend.generate([req, req])
    assert out[0][0].text == out[1][0].text != ""


@pytest.mark.server
def test_stop_strings_are_respected(llama_server):
    backend = backend_for(llama_server)
    [[free]] = backend.generate([GenerationRequest(QUESTION, temperature=0, max_tokens=24)])
    words = free.text.split()
    assert len(words) >= 4, free.text
    stop = " " + words[2]  # a word the greedy answer reaches after a few tokens
    [[cut]] = backend.generate([GenerationRequest(QUESTION, temperature=0, max_tokens=24, stop=(stop,))])
    assert stop not in cut.text
    assert cut.finish_reason == "stop"
    assert cut.text == free.text[:free.text.index(stop)]


@pytest.mark.server
def test_wrong_api_key_names_the_env_var(llama_server):
    backend = OpenAIBackend(llama_server.model, base_url=llama_server.base_url, api_key="wrong",
                            env_prefix="LOCAL", max_retries=0)
    with pytest.raises(BackendUnavailable) as err:
        backend.generate([GenerationRequest(QUESTION, max_tokens=2)])
    assert "LOCAL_API_KEY" in str(err.value) and "401" in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


@pytest.mark.server
def test_bad_request_shows_the_server_text(llama_server):
    backend = backend_for(llama_server, max_retries=0)
    long_prompt = [{"role": "user", "content": "word " * 2500}]  # beyond --n_ctx 2048
    with pytest.raises(MedtrustError) as err:
        backend.generate([GenerationRequest(long_prompt, max_tokens=2)])
    assert "rejected the request (400)" in str(err.value)
    assert "maximum context length is 2048 tokens" in str(err.value)


@pytest.mark.server
def test_not_found_suggests_the_api_root(llama_server):
    root = llama_server.base_url[: -len("/v1")]  # forgot the /v1: every endpoint is a 404
    backend = OpenAIBackend("smollm2", base_url=root, api_key=llama_server.api_key, env_prefix="LOCAL",
                            max_retries=0)
    with pytest.raises(BackendUnavailable) as err:
        backend.generate([GenerationRequest(QUESTION, max_tokens=2)])
    assert "has no model 'smollm2' (404" in str(err.value)
    assert "LOCAL_BASE_URL" in str(err.value) and "/v1" in str(err.value)
    assert backend_for(llama_server).list_models() == ["smollm2"]


@pytest.mark.server
def test_resolve_builds_a_working_backend(llama_server, monkeypatch):
    monkeypatch.setenv("LOCAL_BASE_URL", llama_server.base_url)
    monkeypatch.setenv("LOCAL_API_KEY", llama_server.api_key)
    backend = resolve("openai-api/local/smollm2", timeout=30, concurrency=2)
    assert isinstance(backend, OpenAIBackend)
    assert backend.name == "openai-api/local/smollm2" and backend.model == "smollm2"
    assert backend.timeout == 30 and backend.concurrency == 2
    [[c]] = backend.generate([GenerationRequest(QUESTION, temperature=0, max_tokens=8)])
    assert c.text.strip()
    backend.close()


# ------------------------------------------------------------------------ no server needed
def test_refused_connection_is_backend_unavailable(unused_port):
    url = f"http://127.0.0.1:{unused_port}/v1"  # nothing listens there
    backend = OpenAIBackend("m", base_url=url, env_prefix="LOCAL", max_retries=1)
    with pytest.raises(BackendUnavailable) as err:
        backend.generate([GenerationRequest(QUESTION, max_tokens=2)] * 3)
    msg = str(err.value)
    assert msg.startswith(f"Cannot reach the OpenAI-compatible server at {url} (")
    assert "Connection refused" in msg
    assert "LOCAL_BASE_URL" in msg and "start the server" in msg
    assert "Traceback" not in msg and "openai." not in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no SDK traceback chained


def test_credentials_in_the_server_address_are_never_shown(unused_port):
    from medtrust.models.openai_api import redact_url
    url = f"http://alice:s3cret@127.0.0.1:{unused_port}/v1"
    backend = OpenAIBackend("m", base_url=url, env_prefix="LOCAL", max_retries=0)
    assert backend.info()["base_url"] == f"http://***@127.0.0.1:{unused_port}/v1"
    with pytest.raises(BackendUnavailable) as err:
        backend.generate([GenerationRequest(QUESTION, max_tokens=2)])
    assert "s3cret" not in str(err.value) and "alice" not in str(err.value) and "***@127.0.0.1" in str(err.value)
    assert redact_url("https://api.example.com/v1") == "https://api.example.com/v1"
    assert redact_url("https://tok@example.com:8443/v1") == "https://***@example.com:8443/v1"


def test_missing_base_url_names_the_env_var(monkeypatch):
    monkeypatch.delenv("DEEPSEEK_BASE_URL", raising=False)
    with pytest.raises(BackendUnavailable) as err:
        resolve("openai-api/deepseek/deepseek-chat")
    assert "DEEPSEEK_BASE_URL is not set" in str(err.value)
    assert "export DEEPSEEK_BASE_URL=" in err.value.fix


def test_openai_without_key_or_url_asks_for_the_key(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(BackendUnavailable, match="OPENAI_API_KEY"):
        resolve("openai/gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    backend = resolve("openai/gpt-4o-mini")
    assert backend.info()["base_url"] == "https://api.openai.com/v1" and "sk-test" not in str(backend.info())


def test_backend_arguments():
    backend = OpenAIBackend("m", base_url="http://127.0.0.1:1/v1/", env_prefix="X", images=True,
                            extra_enable_thinking=False)
    assert backend.base_url == "http://127.0.0.1:1/v1"
    assert backend.capabilities == {Capability.LOGPROBS, Capability.IMAGES}
    assert backend.extra_body == {"enable_thinking": False}
    assert backend.concurrency == 8 and backend.client.api_key == "EMPTY"
    with pytest.raises(MedtrustError, match="Unknown argument.*concurency"):
        OpenAIBackend("m", base_url="http://127.0.0.1:1/v1", concurency=2)


def test_images_need_the_images_flag():
    backend = OpenAIBackend("m", base_url="http://127.0.0.1:1/v1", env_prefix="X")
    msg = [{"role": "user", "content": [{"type": "image", "image": Image.new("RGB", (2, 2))}]}]
    with pytest.raises(CapabilityError, match="images=true"):
        backend.generate([GenerationRequest(msg)])


# ----------------------------------------------------------------------------- images.py
def _pattern_image() -> Image.Image:
    img = Image.new("RGB", (5, 3))
    img.putdata([(x * 40, y * 80, (x + y) * 20) for y in range(3) for x in range(5)])
    return img


def test_data_url_round_trips_pixels(tmp_path):
    img = _pattern_image()
    url = image_to_data_url(img)
    assert url.startswith("data:image/png;base64,")
    raw = base64.b64decode(url.split(",", 1)[1])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    back = Image.open(io.BytesIO(raw))
    assert back.size == (5, 3) and list(back.getdata()) == list(img.getdata())
    path = tmp_path / "scan.png"
    img.save(path)
    assert list(data_url_to_image(image_to_data_url(str(path))).getdata()) == list(img.getdata())
    cmyk = img.convert("CMYK")  # not storable as PNG: converted to RGB
    assert data_url_to_image(image_to_data_url(cmyk)).mode == "RGB"


def test_messages_convert_to_openai_parts(tmp_path):
    img = _pattern_image()
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "What is shown? "},
                                             {"type": "image", "image": img}]},
                {"role": "assistant", "content": [{"type": "text", "text": "A "},
                                                  {"type": "text", "text": "scan."}]}]
    out = to_openai_messages(messages)
    assert out[0] == messages[0]
    assert out[1]["content"][0] == {"type": "text", "text": "What is shown? "}
    part = out[1]["content"][1]
    assert part["type"] == "image_url"
    assert list(data_url_to_image(part["image_url"]["url"]).getdata()) == list(img.getdata())
    assert out[2]["content"] == "A scan."  # text-only parts are joined into one string
    assert [list(i.getdata()) for i in message_images(messages)] == [list(img.getdata())]
    with pytest.raises(MedtrustError, match="does not exist"):
        missing = {"type": "image", "image": str(tmp_path / "no.png")}
        to_openai_messages([{"role": "user", "content": [missing]}])


def test_separate_reasoning_field_is_kept():
    from openai.types.chat import ChatCompletionMessage

    from medtrust.models.openai_api import _reasoning
    deepseek = ChatCompletionMessage.model_validate(
        {"role": "assistant", "content": "B", "reasoning_content": "Fever and cough suggest..."})
    assert _reasoning(deepseek) == "Fever and cough suggest..."
    assert _reasoning(ChatCompletionMessage.model_validate({"role": "assistant", "content": "B"})) is None
