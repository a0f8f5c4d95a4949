"""Real local serving: SmolLM2-135M behind a loopback llama.cpp server (xllamacpp).

Marked ``local_llm``: fetches the 98 MB model into the user cache on first use (then reuses it)
and needs the ``local`` extra. Run with ``pytest -m local_llm tests/test_local_server.py``.
The unmarked tests here check argument errors that fail before anything is loaded.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from nsed_graph.ensemble import default_local_ensemble
from nsed_graph.local import (
    LocalServerError,
    LocalServerGroup,
    PortInUseError,
    serve_local_models,
    start_local_models,
)
from nsed_graph.local.server import health_status

MODEL = "smollm2-135m"


class Capital(BaseModel):
    """Every string has a max_length: tiny models otherwise write until max_tokens."""

    city: str = Field(max_length=40)
    confidence: int = Field(ge=0, le=100)


def _port_is_free(port: int) -> bool:
    """Bindable the way servers bind (SO_REUSEADDR), so closed connections in TIME_WAIT on
    the port do not count: only a live listener does."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _chat(base_url: str, max_tokens: int = 48) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=base_url,
        api_key="not-needed",
        model=MODEL,
        temperature=0,
        max_tokens=max_tokens,
        max_retries=0,
        timeout=120,
    )


@pytest.fixture(scope="module")
def smollm() -> Iterator[LocalServerGroup]:
    group = start_local_models([MODEL], quiet=True)
    try:
        yield group
    finally:
        group.stop()


def test_port_in_use_is_a_clear_error_before_loading() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        with pytest.raises(PortInUseError, match=f"port {port} .* in use"):
            start_local_models([MODEL], ports=[port], fetch=False, quiet=True)


def test_wrong_number_of_ports() -> None:
    with pytest.raises(LocalServerError, match="give one port per model"):
        start_local_models([MODEL], ports=[1, 2], fetch=False, quiet=True)


@pytest.mark.local_llm
def test_plain_and_structured_calls(smollm: LocalServerGroup) -> None:
    base_url = smollm.base_urls[MODEL]
    assert base_url.startswith("http://127.0.0.1:")
    assert base_url.endswith("/v1")
    chat = _chat(base_url)

    reply = chat.invoke("What is the capital of France? Answer in one word.")
    assert isinstance(reply.content, str)
    assert reply.content.strip()

    structured = chat.with_structured_output(Capital, method="json_schema", include_raw=True)
    result = structured.invoke("What is the capital of France? Give the city and a confidence.")
    assert isinstance(result, dict)
    assert result["parsing_error"] is None
    assert isinstance(result["parsed"], Capital)
    assert len(result["parsed"].city) <= 40


@pytest.mark.local_llm
def test_concurrent_calls_from_two_tasks(smollm: LocalServerGroup) -> None:
    chat = _chat(smollm.base_urls[MODEL])

    async def both() -> list[object]:
        prompt = "Name one primary colour."
        return list(await asyncio.gather(chat.ainvoke(prompt), chat.ainvoke(prompt)))

    first, second = asyncio.run(both())
    # Temperature 0 is deterministic, also for concurrent requests.
    assert getattr(first, "content", None) == getattr(second, "content", None)


@pytest.mark.local_llm
def test_build_agents_against_the_served_model(smollm: LocalServerGroup) -> None:
    spec = default_local_ensemble(fast=True)
    urls = {model_id: smollm.base_urls[MODEL] for model_id in spec.local_model_ids()}
    agent = spec.build_agents(urls)[0]
    assert agent.id == MODEL
    reply = agent.model.invoke("Say hi.", max_tokens=8)
    assert reply.content


@pytest.mark.local_llm
def test_kill_mid_run_frees_the_port_and_fails_calls() -> None:
    group = start_local_models([MODEL], quiet=True)
    server = group.servers[MODEL]
    chat = _chat(server.base_url, max_tokens=400)
    errors: list[BaseException] = []

    def long_call() -> None:
        try:
            chat.invoke("Write a long story about a lighthouse keeper.")
        except BaseException as exc:
            errors.append(exc)

    caller = threading.Thread(target=long_call)
    caller.start()
    try:
        threading.Event().wait(0.5)  # let the request reach the server
        server.kill()
        caller.join(timeout=30)
        assert not caller.is_alive()
        assert not server.is_running()
        assert _port_is_free(server.port)
        assert health_status(server.base_url.removesuffix("/v1"), timeout_s=1) is None
    finally:
        group.stop()
    assert errors, "a call to a killed server must fail"


@pytest.mark.local_llm
def test_stopping_leaves_the_port_free_and_no_process() -> None:
    threads_before = set(threading.enumerate())
    with serve_local_models([MODEL], quiet=True) as urls:
        address = urls[MODEL].removesuffix("/v1")
        port = int(address.rsplit(":", 1)[1])
        assert health_status(address) == 200
        assert not _port_is_free(port)
    assert _port_is_free(port)
    assert health_status(address, timeout_s=1) is None
    assert set(threading.enumerate()) - threads_before == set()


@pytest.mark.local_llm
def test_servers_stop_when_the_block_raises() -> None:
    ports: list[int] = []

    def use_and_fail() -> None:
        with serve_local_models([MODEL], quiet=True) as urls:
            ports.append(int(urls[MODEL].removesuffix("/v1").rsplit(":", 1)[1]))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        use_and_fail()
    assert _port_is_free(ports[0])


@pytest.mark.local_llm
def test_group_stop_ends_the_processes_and_removes_logs() -> None:
    group = start_local_models([MODEL], quiet=True)
    server = group.servers[MODEL]
    assert server.is_running()
    assert server.log_path.is_file()
    group.stop()
    assert server.process.returncode is not None
    assert not server.log_path.exists()
    group.stop()  # idempotent
