"""Secrets in provider error texts never reach state, traces or logs."""

import pytest

from nsed_graph import Agent, NSEDConfig, create_nsed_graph
from nsed_graph.redaction import looks_like_secret, scrub
from nsed_graph.testing import ScriptedChatModel, constant_judge, scripted_agent_model


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("401: invalid key sk-proj-AbC123xyz987LMNOPQ", "sk-proj-AbC123xyz987LMNOPQ"),
        ("header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", "eyJhbGciOiJIUzI1NiJ9.abc"),
        ("GET https://user:hunter2@gw.example/v1 failed", "hunter2"),
        ("GET /v1/models?api_key=abcd1234efgh failed", "abcd1234efgh"),
        ("bad key hf_AbCdEfGhIjKlMnOpQrStUv", "hf_AbCdEfGhIjKlMnOpQrStUv"),
    ],
)
def test_scrub_removes_credentials(text: str, secret: str) -> None:
    cleaned = scrub(text)
    assert secret not in cleaned
    assert "[secret]" in cleaned


def test_variable_names_are_not_secrets() -> None:
    assert not looks_like_secret("OPENAI_API_KEY")
    assert not looks_like_secret("VLLM_API_KEY")
    assert looks_like_secret("sk-AbCdEfGh12345678")


def test_a_key_in_an_error_message_never_reaches_the_run_record() -> None:
    leak = "sk-live-0123456789abcdefXYZ"

    def refuse(call):
        return PermissionError(f"Incorrect API key provided: {leak}")

    judge = constant_judge({"42": 50})
    agents = [
        Agent(id="a", model=scripted_agent_model("42", judge)),
        Agent(id="b", model=scripted_agent_model("42", judge)),
        Agent(id="leaky", model=ScriptedChatModel(respond=refuse)),
    ]
    config = NSEDConfig(max_rounds=1, min_rounds=1, max_retries=0)
    graph = create_nsed_graph(agents, config)
    out = graph.invoke({"task": "6 x 7?"})
    events = list(graph.stream({"task": "6 x 7?"}, stream_mode="custom"))
    assert out["failures"]
    assert leak not in repr(out)
    assert leak not in repr(events)
