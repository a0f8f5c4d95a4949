"""Ensemble files (YAML and TOML): validation errors, agent construction, endpoint probes."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from nsed_graph.agents import Agent, index_agents
from nsed_graph.ensemble import (
    LOCAL_API_KEY,
    LOCAL_SEED,
    LOCAL_TEMPERATURE,
    EnsembleError,
    EnsembleSpec,
    check_endpoints,
    default_local_ensemble,
    load_ensemble_file,
    parse_ensemble,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = "sk-test-0123456789-do-not-print"

REMOTE = {
    "id": "gpt",
    "base_url": "https://api.example.com/v1",
    "model": "gpt-4o-mini",
    "api_key_env": "NSED_TEST_KEY",
    "family": "openai",
    "cost": 0.001,
    "cost_per_1k_input": 0.15,
    "cost_per_1k_output": 0.6,
    "memory_gb": 0,
    "tags": ["hosted"],
    "prior": 0.8,
    "pinned": True,
    "temperature": 0.2,
    "max_tokens": 256,
    "timeout_s": 30,
}

YAML_TEXT = """
description: mixed
agents:
  - id: gpt
    base_url: https://api.example.com/v1
    model: gpt-4o-mini
    api_key_env: NSED_TEST_KEY
    family: openai
    prior: 0.8
    tags: [hosted]
  - local: smollm2-135m
"""

TOML_TEXT = """
description = "mixed"

[[agents]]
id = "gpt"
base_url = "https://api.example.com/v1"
model = "gpt-4o-mini"
api_key_env = "NSED_TEST_KEY"
family = "openai"
prior = 0.8
tags = ["hosted"]

[[agents]]
local = "smollm2-135m"
"""


def _with_agents(*agents: dict[str, Any]) -> dict[str, Any]:
    return {"agents": list(agents)}


def _error(data: Any) -> str:
    with pytest.raises(EnsembleError) as info:
        parse_ensemble(data, source="ens.yaml")
    return str(info.value)


# loading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text"), [("e.yaml", YAML_TEXT), ("e.toml", TOML_TEXT)])
def test_yaml_and_toml_load_the_same_spec(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    spec = load_ensemble_file(path)
    assert [a.agent_id for a in spec.agents] == ["gpt", "smollm2-135m"]
    assert spec.local_model_ids() == ["smollm2-135m"]
    assert spec.agents[0].tags == ["hosted"]


def test_yml_extension_is_yaml(tmp_path: Path) -> None:
    path = tmp_path / "e.yml"
    path.write_text(YAML_TEXT)
    assert len(load_ensemble_file(path).agents) == 2


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text("{}")
    with pytest.raises(EnsembleError, match=r"unsupported extension '\.json'"):
        load_ensemble_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EnsembleError, match="not found"):
        load_ensemble_file(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [("e.yaml", "agents: [unclosed", "YAML"), ("e.toml", "agents = [", "TOML")],
)
def test_syntax_errors_name_the_format(tmp_path: Path, name: str, text: str, kind: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(EnsembleError, match=f"not valid {kind}"):
        load_ensemble_file(path)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(EnsembleError, match="expected a mapping with an 'agents' list"):
        load_ensemble_file(path)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("ensemble-*.yaml")), ids=lambda p: p.name)
def test_examples_are_valid(path: Path) -> None:
    spec = load_ensemble_file(path)
    assert len(spec.agents) >= 2
    assert all(a.api_key_env is None or a.api_key_env.isupper() for a in spec.agents)


def test_local_example_is_the_embedded_default() -> None:
    example = load_ensemble_file(EXAMPLES / "ensemble-local.yaml")
    assert example == default_local_ensemble(explicit_sampling=False)
    assert example.with_sampling(LOCAL_TEMPERATURE, LOCAL_SEED) == default_local_ensemble()


def test_examples_cover_the_documented_backends() -> None:
    names = {p.name for p in EXAMPLES.glob("ensemble-*.yaml")}
    assert names >= {
        "ensemble-vllm.yaml",
        "ensemble-ollama.yaml",
        "ensemble-openai.yaml",
        "ensemble-local.yaml",
    }


# validation errors -----------------------------------------------------------------------


def test_missing_field_names_agent_and_field() -> None:
    remote = {k: v for k, v in REMOTE.items() if k != "model"}
    message = _error(_with_agents(remote, {"local": "smollm2-135m"}))
    assert "agents[0] (id 'gpt')" in message
    assert "model: required for a remote agent" in message


def test_missing_agents_list() -> None:
    assert "agents: required field is missing" in _error({"description": "x"})


def test_unknown_key_is_named() -> None:
    message = _error(_with_agents({**REMOTE, "temprature": 0.5}, {"local": "smollm2-135m"}))
    assert "agents[0] (id 'gpt').temprature: unknown key" in message


def test_unknown_top_level_key() -> None:
    message = _error({**_with_agents(REMOTE, {"local": "smollm2-135m"}), "agent": []})
    assert "agent: unknown key" in message


@pytest.mark.parametrize("key", ["api_key", "openai_api_key"])
def test_api_key_in_the_file_is_refused_without_echoing_it(key: str) -> None:
    message = _error(_with_agents({**REMOTE, key: SECRET}, {"local": "smollm2-135m"}))
    assert f"{key}: keys do not belong in an ensemble file" in message
    assert "api_key_env" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    "pasted",
    [SECRET, "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345", "gsk_a1B2c3D4e5F6g7H8i9J0k1L2m3N4"],
)
def test_key_pasted_into_api_key_env_is_refused_without_echoing_it(pasted: str) -> None:
    # keys made only of letters, digits and '_' are valid variable names: still refused
    message = _error(_with_agents({**REMOTE, "api_key_env": pasted}, {"local": "smollm2-135m"}))
    assert "api_key_env: must be the NAME of an environment variable" in message
    assert pasted not in message


def test_unknown_local_model_lists_known_ones() -> None:
    message = _error(_with_agents(REMOTE, {"local": "llama-70b"}))
    assert "agents[1] (id 'llama-70b'): local: unknown local model 'llama-70b'" in message
    assert "qwen2.5-coder-1.5b" in message


@pytest.mark.parametrize("prior", [1.5, -0.1, "high"])
def test_bad_prior(prior: object) -> None:
    message = _error(_with_agents({**REMOTE, "prior": prior}, {"local": "smollm2-135m"}))
    assert "agents[0] (id 'gpt').prior:" in message


def test_local_and_endpoint_together_are_refused() -> None:
    message = _error(_with_agents(REMOTE, {"local": "smollm2-135m", "base_url": "http://x/v1"}))
    assert "not both" in message


def test_bad_base_url_scheme() -> None:
    message = _error(_with_agents({**REMOTE, "base_url": "api.example.com"}, REMOTE | {"id": "b"}))
    assert "base_url: must start with http:// or https://" in message


def test_duplicate_ids() -> None:
    assert "duplicate agent id 'gpt'" in _error(_with_agents(REMOTE, REMOTE))


def test_fewer_than_two_agents() -> None:
    assert "at least two agents" in _error(_with_agents(REMOTE))


def test_pinned_and_excluded() -> None:
    message = _error(_with_agents({**REMOTE, "excluded": True}, {"local": "smollm2-135m"}))
    assert "pinned/excluded" in message


def test_bad_id() -> None:
    message = _error(_with_agents({**REMOTE, "id": "has space"}, {"local": "smollm2-135m"}))
    assert "agents[0]" in message
    assert "agent id (9 characters, ' ' at position 4) must be 1-64 characters" in message


def test_a_key_pasted_as_an_id_or_into_a_broken_line_is_never_echoed(tmp_path: Path) -> None:
    key = "sk-live 7f3a9c2e1b4d"  # the space makes it a bad id
    message = _error(_with_agents({**REMOTE, "id": key}, {"local": "smollm2-135m"}))
    assert "7f3a9c2e1b4d" not in message
    broken = tmp_path / "ensemble.yaml"
    broken.write_text(f"agents:\n  - id: a\n    api_key_env: [{key}\n", encoding="utf-8")
    with pytest.raises(EnsembleError) as caught:
        load_ensemble_file(broken)
    assert str(broken) in str(caught.value)
    assert "line" in str(caught.value)
    assert "7f3a9c2e1b4d" not in str(caught.value)
    assert "<unicode string>" not in str(caught.value)


def test_infinite_numbers_and_endless_timeouts_are_refused_in_the_file() -> None:
    for field, value in (("timeout_s", float("inf")), ("timeout_s", 1e10), ("cost", float("nan"))):
        message = _error(_with_agents({**REMOTE, field: value}, {"local": "smollm2-135m"}))
        assert f"agents[0] (id 'gpt').{field}" in message


def test_a_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    latin = tmp_path / "ensemble.yaml"
    latin.write_bytes("agents:\n  - id: caf\xe9\n".encode("latin-1"))
    with pytest.raises(EnsembleError, match="not UTF-8 text"):
        load_ensemble_file(latin)


def test_all_errors_are_reported_at_once() -> None:
    message = _error(
        _with_agents({**REMOTE, "prior": 2}, {"local": "nope"}, {**REMOTE, "id": "c", "x": 1})
    )
    assert message.count("\n") >= 3


# building agents -------------------------------------------------------------------------


def _key(chat: object) -> str:
    assert isinstance(chat, ChatOpenAI)
    assert isinstance(chat.openai_api_key, SecretStr)
    return chat.openai_api_key.get_secret_value()


def _spec() -> EnsembleSpec:
    return parse_ensemble(_with_agents(REMOTE, {"local": "smollm2-135m", "prior": 0.3}))


def test_build_agents_creates_chat_openai_clients() -> None:
    agents = _spec().build_agents(
        {"smollm2-135m": "http://127.0.0.1:8123/v1"}, env={"NSED_TEST_KEY": SECRET}
    )
    remote, local = agents
    assert isinstance(remote, Agent)
    assert isinstance(remote.model, ChatOpenAI)
    assert remote.model.openai_api_base == "https://api.example.com/v1"
    assert remote.model.model_name == "gpt-4o-mini"
    assert remote.model.temperature == 0.2
    assert remote.model.max_tokens == 256
    assert remote.call_cost(1000, 1000) == pytest.approx(0.001 + 0.15 + 0.6)
    assert remote.pinned
    assert remote.tags == frozenset({"hosted"})

    assert isinstance(local.model, ChatOpenAI)
    assert local.model.openai_api_base == "http://127.0.0.1:8123/v1"
    assert local.model.model_name == "smollm2-135m"
    assert _key(local.model) == LOCAL_API_KEY
    assert local.family == "smollm"
    assert local.prior == 0.3  # the file overrides the catalogue
    assert local.memory_gb == 0.25
    assert "local" in local.tags
    index_agents(agents)


def test_keys_never_show_in_reprs_or_metadata() -> None:
    agents = _spec().build_agents({"smollm2-135m": "http://h/v1"}, env={"NSED_TEST_KEY": SECRET})
    for agent in agents:
        assert SECRET not in repr(agent)
        assert SECRET not in repr(agent.model)
        assert SECRET not in str(agent.model_dump(mode="json"))
    assert _key(agents[0].model) == SECRET


def test_missing_env_var_names_agent_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NSED_TEST_KEY", raising=False)
    with pytest.raises(EnsembleError) as info:
        _spec().build_agents({"smollm2-135m": "http://h/v1"})
    assert "agent 'gpt'" in str(info.value)
    assert "NSED_TEST_KEY" in str(info.value)
    assert _spec().missing_env({}) == [("gpt", "NSED_TEST_KEY")]


def test_env_var_read_from_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NSED_TEST_KEY", SECRET)
    assert len(_spec().build_agents({"smollm2-135m": "http://h/v1"})) == 2


def test_local_agent_without_a_server_url() -> None:
    with pytest.raises(EnsembleError, match="no server for it"):
        _spec().build_agents({}, env={"NSED_TEST_KEY": "k"})


def test_keyless_remote_endpoint_gets_the_placeholder() -> None:
    ollama = {"id": "llama", "base_url": "http://127.0.0.1:11434/v1", "model": "llama3.2:3b"}
    spec = parse_ensemble(_with_agents(ollama, {**ollama, "id": "other"}))
    agent = spec.build_agents()[0]
    assert _key(agent.model) == LOCAL_API_KEY
    assert agent.family == "unknown"
    assert agent.prior == 0.5


def test_default_local_ensemble() -> None:
    full, fast = default_local_ensemble(), default_local_ensemble(fast=True)
    assert full.local_model_ids() == ["smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
    assert fast.local_model_ids() == ["smollm2-135m", "qwen2.5-coder-0.5b"]
    urls = {m: f"http://127.0.0.1:{9000 + i}/v1" for i, m in enumerate(full.local_model_ids())}
    agents = full.build_agents(urls)
    assert [a.family for a in agents] == ["smollm", "qwen", "qwen"]
    assert [a.prior for a in agents] == sorted(a.prior for a in agents)
    # every call of the embedded default is greedy and seeded (issue 17: the same answer each run)
    assert {(a.model.temperature, a.model.seed) for a in agents} == {
        (LOCAL_TEMPERATURE, LOCAL_SEED)
    }


# endpoint probes -------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        authorised = self.headers.get("Authorization") == "Bearer good"
        status = 200 if self.path == "/v1/models" and authorised else 401
        body = yaml.safe_dump({"data": []}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_check_endpoints_reports_unreachable_and_unauthorised(endpoint: str) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/v1"
    spec = parse_ensemble(
        _with_agents(
            {"id": "ok", "base_url": endpoint, "model": "m", "api_key_env": "GOOD"},
            {"id": "badkey", "base_url": endpoint, "model": "m", "api_key_env": "BAD"},
            {"id": "dead", "base_url": dead, "model": "m"},
            {"local": "smollm2-135m"},
        )
    )
    problems = check_endpoints(spec, timeout_s=2.0, env={"GOOD": "good", "BAD": "wrong"})
    by_agent = {p.agent_id: p for p in problems}
    assert set(by_agent) == {"badkey", "dead"}
    assert "HTTP 401" in by_agent["badkey"].reason
    assert by_agent["dead"].url == f"{dead}/models"
    assert "unreachable" in by_agent["dead"].reason
    assert "agent 'dead'" in str(by_agent["dead"])


def test_check_endpoints_skips_local_agents() -> None:
    assert check_endpoints(default_local_ensemble()) == []
