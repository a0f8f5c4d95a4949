"""Ensemble files: which chat models sit at the table, written once as YAML or TOML.

An ensemble file lists agents. Each is either a remote OpenAI-compatible endpoint
(``base_url`` + ``model``: vLLM, Ollama, OpenAI, ...) or ``local: <catalogue id>``, an embedded
model that gets its loopback URL only when its server starts. Both become the same
``ChatOpenAI`` client, so the local default is not a special path through the code.

Keys never live in the file: an agent names the environment variable that holds its key
(``api_key_env``), so files can be committed and shared. Errors name the agent and the field,
and never echo values, since a mistyped file may contain a secret.

Example (YAML)::

    agents:
      - id: gpt
        base_url: https://api.example.com/v1
        model: gpt-4o-mini
        api_key_env: OPENAI_API_KEY
        prior: 0.8
      - local: qwen2.5-coder-1.5b
        temperature: 0
        seed: 0

``samples: 3`` lets the broker seat the agent up to three times a round, each seat a draw with
its own seed (at ``sample_temperature``, where given); see ``Agent.samples``.

``temperature``, ``seed``, ``max_tokens``, ``timeout_s`` and ``max_retries`` are settings of
the agent's client, sent with every call it makes (proposals, reviews, the answer-alone
re-ask); an agent without them keeps its server's own sampling (llama.cpp: temperature 0.8, a
random seed). The embedded default sets them explicitly (``LOCAL_TEMPERATURE``,
``LOCAL_SEED``). ``max_retries`` is 0 unless set: the library does the retrying, and records
every attempt.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import tomllib
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from nsed_graph.agents import MAX_SAMPLES, Agent, check_agent_id
from nsed_graph.local.catalogue import (
    DEFAULT_ENSEMBLE,
    FAST_ENSEMBLE,
    UnknownModelError,
    get_model,
)
from nsed_graph.redaction import looks_like_secret, scrub

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY_FIELDS = ("api_key", "openai_api_key", "apikey", "api-key")
LOCAL_API_KEY = "not-needed"
"""What local servers (and keyless endpoints such as Ollama) receive: they ignore it, but the
OpenAI client insists on some key."""
LOCAL_TAG = "local"
LOCAL_TIMEOUT_S = 600.0
"""Local calls are slow on CPU (an 800-token prompt costs the 1.5B ~23 s before its first
token), and three samples of one model share its server's two slots, so a call may wait for
another; this bounds a hung server without cutting off a slow or queued answer (a seat whose
every call timed out sits out the rest of the run)."""
SAMPLED_LOCAL_MODEL = "qwen2.5-coder-1.5b"
"""The member of the embedded default seated as samples: the only one with real skill."""
LOCAL_SAMPLES = 3
"""Seats of ``SAMPLED_LOCAL_MODEL`` per round (issue 13, defect 8: seats are samples)."""
LOCAL_SAMPLE_TEMPERATURE = 0.8
"""Temperature of those samples: llama.cpp's own default, at which the sampled ARC-Easy run
drew them, since samples at the ensemble's temperature 0 would be one answer three times."""
LOCAL_TEMPERATURE = 0.0
"""Temperature of every call the embedded default ensemble makes (``nsed ask``, with or without
``--fast``). Zero, so that the main job behaves the same from run to run: llama.cpp (xllamacpp)
then decodes greedily and is deterministic, also for concurrent requests on one server (the
``local_llm`` tests rely on it). Left to the server, the default would be 0.8, at which the
small models' answers, and whether a run ends with one, change from run to run (issue 17).
A table of different models still disagrees, so deliberation has something to weigh; a table
that seats one model several times wants sampling instead (set ``temperature`` per agent in an
ensemble file)."""
LOCAL_SEED = 0
"""Seed sent with every call of the embedded default ensemble. At temperature 0 it changes
nothing; it is sent anyway so that the request says all that decides its sampling, and so that
an ensemble derived from the default with a temperature above 0 is still reproducible."""


class EnsembleError(ValueError):
    """A problem in an ensemble file or its environment, worded for the person who wrote it."""


class AgentSpec(BaseModel):
    """One agent as written in the file; :meth:`EnsembleSpec.build_agents` turns it into an
    :class:`~nsed_graph.agents.Agent`.

    For a ``local`` agent, ``id`` defaults to the catalogue id and ``family``, ``prior`` and
    ``memory_gb`` to the catalogue's values; a ``local`` tag is added so a broker can tell
    embedded models apart.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, hide_input_in_errors=True, allow_inf_nan=False
    )

    id: str | None = None
    local: str | None = None
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    family: str | None = Field(default=None, min_length=1)
    cost: float = Field(default=0.0, ge=0.0)
    cost_per_1k_input: float = Field(default=0.0, ge=0.0)
    cost_per_1k_output: float = Field(default=0.0, ge=0.0)
    memory_gb: float | None = Field(default=None, ge=0.0)
    tags: list[str] = Field(default_factory=list)
    prior: float | None = Field(default=None, ge=0.0, le=1.0)
    pinned: bool = False
    excluded: bool = False
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    seed: int | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    timeout_s: float | None = Field(default=None, gt=0.0, le=3600.0)
    max_retries: int = Field(default=0, ge=0, le=10)
    """The client's own retries: none by default, since the library retries (``NSEDConfig.
    max_retries``) and records every attempt; a client retrying underneath would send requests
    the record never shows (issue 14: 36 requests reached an endpoint for 6 recorded calls)."""
    samples: int = Field(default=1, ge=1, le=MAX_SAMPLES)
    sample_temperature: float | None = Field(default=None, ge=0.0, le=2.0)

    @model_validator(mode="before")
    @classmethod
    def _refuse_inline_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for name in _KEY_FIELDS:
                if name in data:
                    raise ValueError(
                        f"{name}: keys do not belong in an ensemble file; put the key in an "
                        "environment variable and give its NAME as api_key_env "
                        "(e.g. api_key_env: OPENAI_API_KEY)"
                    )
        return data

    @model_validator(mode="after")
    def _check_consistency(self) -> AgentSpec:
        self._check_source()
        if self.api_key_env is not None and (
            not _ENV_NAME.match(self.api_key_env) or looks_like_secret(self.api_key_env)
        ):
            raise ValueError(
                "api_key_env: must be the NAME of an environment variable (letters, digits, "
                "'_'), not the key itself"
            )
        check_agent_id(self.agent_id)
        if self.pinned and self.excluded:
            raise ValueError("pinned/excluded: an agent cannot be both; choose one")
        return self

    def _check_source(self) -> None:
        if self.local is not None:
            if self.base_url is not None or self.model is not None:
                raise ValueError(
                    "local: give either local (an embedded model) or base_url + model "
                    "(an endpoint), not both"
                )
            try:
                get_model(self.local)
            except UnknownModelError as exc:  # a KeyError, which pydantic would not catch
                raise ValueError(f"local: {exc}") from None
            return
        missing = [name for name in ("id", "base_url", "model") if getattr(self, name) is None]
        if missing:
            raise ValueError(
                f"{', '.join(missing)}: required for a remote agent (or use local: <model id>)"
            )
        assert self.base_url is not None
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url: must start with http:// or https://")

    @property
    def agent_id(self) -> str:
        """The id used in state and records (the catalogue id for an unnamed local agent)."""
        return self.id or self.local or ""

    @property
    def is_local(self) -> bool:
        """True for an embedded model, whose URL is only known once its server runs."""
        return self.local is not None

    def resolved_family(self) -> str:
        """Family as written, else the catalogue's for a local model, else "unknown"."""
        if self.family is not None:
            return self.family
        return get_model(self.local).family if self.local is not None else "unknown"

    def resolved_prior(self) -> float:
        """Prior as written, else the catalogue's for a local model, else the neutral 0.5."""
        if self.prior is not None:
            return self.prior
        return get_model(self.local).prior if self.local is not None else 0.5

    def resolved_memory_gb(self) -> float:
        """Memory as written, else the catalogue's for a local model, else 0 (remote)."""
        if self.memory_gb is not None:
            return self.memory_gb
        return get_model(self.local).memory_gb if self.local is not None else 0.0

    def resolved_tags(self) -> frozenset[str]:
        """Tags as written, plus ``local`` for embedded models."""
        tags = frozenset(self.tags)
        return tags | {LOCAL_TAG} if self.is_local else tags


class EnsembleSpec(BaseModel):
    """A validated ensemble file: at least two agents with unique ids."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, hide_input_in_errors=True, allow_inf_nan=False
    )

    description: str | None = None
    agents: list[AgentSpec] = Field(min_length=2)

    @model_validator(mode="after")
    def _unique_ids(self) -> EnsembleSpec:
        seen: set[str] = set()
        for agent in self.agents:
            if agent.agent_id in seen:
                raise ValueError(f"agents: duplicate agent id {agent.agent_id!r}")
            seen.add(agent.agent_id)
        return self

    def with_sampling(self, temperature: float | None, seed: int | None) -> EnsembleSpec:
        """A copy in which every agent that sets no ``temperature`` (no ``seed``) of its own
        gets this one; None leaves that setting as it is."""
        agents = [
            agent.model_copy(
                update={
                    "temperature": agent.temperature
                    if agent.temperature is not None
                    else temperature,
                    "seed": agent.seed if agent.seed is not None else seed,
                }
            )
            for agent in self.agents
        ]
        return self.model_copy(update={"agents": agents})

    def local_model_ids(self) -> list[str]:
        """Catalogue ids to serve before :meth:`build_agents` (pass them to
        ``serve_local_models``), without repeats."""
        ids = [agent.local for agent in self.agents if agent.local is not None]
        return list(dict.fromkeys(ids))

    def missing_env(self, env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
        """``(agent id, variable)`` for every ``api_key_env`` that is unset or empty."""
        source = os.environ if env is None else env
        return [
            (agent.agent_id, agent.api_key_env)
            for agent in self.agents
            if agent.api_key_env is not None and not source.get(agent.api_key_env)
        ]

    def build_agents(
        self,
        base_urls_for_local: Mapping[str, str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> list[Agent]:
        """Create one ``ChatOpenAI``-backed :class:`Agent` per entry, in file order.

        ``base_urls_for_local`` maps catalogue ids to running servers (what
        ``serve_local_models`` yields). Keys are read from ``env`` (default: the process
        environment) and held as ``SecretStr``, so they never show in a repr or a log.
        """
        problems = [
            f"agent {agent_id!r}: environment variable {name} (api_key_env) is not set; "
            f"export {name}=<your key>"
            for agent_id, name in self.missing_env(env)
        ]
        if problems:
            raise EnsembleError("\n".join(problems))
        urls = dict(base_urls_for_local or {})
        source = os.environ if env is None else env
        return [_build_agent(agent, _base_url(agent, urls), source) for agent in self.agents]


def _base_url(agent: AgentSpec, urls: Mapping[str, str]) -> str:
    if agent.local is None:
        assert agent.base_url is not None
        return agent.base_url
    if agent.local not in urls:
        raise EnsembleError(
            f"agent {agent.agent_id!r} uses local model {agent.local!r} but no server for it "
            "was given; start it with serve_local_models(spec.local_model_ids()) or "
            "`nsed models serve` and pass the base URLs"
        )
    return urls[agent.local]


def _build_agent(agent: AgentSpec, base_url: str, env: Mapping[str, str]) -> Agent:
    from langchain_openai import ChatOpenAI

    key = env[agent.api_key_env] if agent.api_key_env is not None else LOCAL_API_KEY
    options: dict[str, Any] = {}
    for name, value in (
        ("temperature", agent.temperature),
        ("seed", agent.seed),
        ("max_tokens", agent.max_tokens),
        ("timeout", agent.timeout_s),
        ("max_retries", agent.max_retries),
    ):
        if value is not None:
            options[name] = value
    chat = ChatOpenAI(
        model=agent.model or agent.local or "",
        base_url=base_url,
        api_key=SecretStr(key),
        **options,
    )
    return Agent(
        id=agent.agent_id,
        model=chat,
        family=agent.resolved_family(),
        cost=agent.cost,
        cost_per_1k_input=agent.cost_per_1k_input,
        cost_per_1k_output=agent.cost_per_1k_output,
        memory_gb=agent.resolved_memory_gb(),
        tags=agent.resolved_tags(),
        prior=agent.resolved_prior(),
        pinned=agent.pinned,
        excluded=agent.excluded,
        samples=agent.samples,
        sample_temperature=agent.sample_temperature,
    )


def _location(loc: tuple[int | str, ...], data: Any) -> str:
    """``agents[1] (id 'gpt').prior`` from pydantic's location tuple and the raw data."""
    text = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            name = (node.get("id") or node.get("local")) if isinstance(node, Mapping) else None
            if isinstance(name, str) and _plain(name):  # a bad id, or a key, is never echoed
                text += f" (id {name!r})"
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return text


def _plain(name: str) -> bool:
    try:
        check_agent_id(name)
    except ValueError:
        return False
    return not looks_like_secret(name)


def _describe(error: Mapping[str, Any], data: Any) -> str:
    where = _location(tuple(error["loc"]), data)
    kind = error["type"]
    message = str(error["msg"])
    if kind == "missing":
        message = "required field is missing"
    elif kind == "too_short" and where == "agents":
        message = "NSED needs at least two agents to deliberate"
    elif kind == "extra_forbidden":
        message = "unknown key (check the spelling; see the ensemble file documentation)"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def parse_ensemble(data: Any, *, source: str = "ensemble") -> EnsembleSpec:
    """Validate already-parsed data, turning pydantic's errors into one readable message."""
    if not isinstance(data, Mapping):
        raise EnsembleError(f"{source}: expected a mapping with an 'agents' list at the top")
    try:
        return EnsembleSpec.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(error, data) for error in exc.errors(include_input=False)]
        raise EnsembleError(f"{source}: invalid ensemble\n  " + "\n  ".join(lines)) from None


def _read_data(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise EnsembleError(f"{path}: unsupported extension {suffix!r}; use .yaml, .yml or .toml")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EnsembleError(f"{path}: ensemble file not found") from None
    except UnicodeDecodeError as exc:
        raise EnsembleError(
            f"{path}: not UTF-8 text (an invalid byte at offset {exc.start}); save the file "
            "as UTF-8"
        ) from None
    except OSError as exc:
        raise EnsembleError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except tomllib.TOMLDecodeError as exc:
        raise EnsembleError(f"{path}: not valid TOML: {exc}") from None
    except yaml.YAMLError as exc:
        raise EnsembleError(f"{path}: not valid YAML{_yaml_where(exc)}") from None


def _yaml_where(error: yaml.YAMLError) -> str:
    """Where and what YAML found wrong, without the offending line itself: a malformed line
    may hold a key, and an error message must never echo one (issue 16)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{where}: {problem}" if problem else where


def load_ensemble_file(path: str | os.PathLike[str]) -> EnsembleSpec:
    """Read and validate a YAML (``.yaml``/``.yml``) or TOML (``.toml``) ensemble file."""
    file = Path(path)
    return parse_ensemble(_read_data(file), source=str(file))


def default_local_ensemble(*, fast: bool = False, explicit_sampling: bool = True) -> EnsembleSpec:
    """The embedded default: all three catalogue models, or the two small ones with ``fast``.

    Every agent sends ``temperature`` ``LOCAL_TEMPERATURE`` (0: greedy, the same answers run
    after run) and ``seed`` ``LOCAL_SEED`` with each call, rather than leaving sampling to the
    llama.cpp server (0.8). ``explicit_sampling=False`` leaves it to the server, as
    ``examples/ensemble-local.yaml`` does and as the ``nsed bench`` runs pinned before this
    setting existed were sampled.
    """
    ids = FAST_ENSEMBLE if fast else DEFAULT_ENSEMBLE
    agents = [
        AgentSpec(local=model_id, timeout_s=LOCAL_TIMEOUT_S)
        if model_id != SAMPLED_LOCAL_MODEL
        else AgentSpec(
            local=model_id,
            timeout_s=LOCAL_TIMEOUT_S,
            samples=LOCAL_SAMPLES,
            sample_temperature=LOCAL_SAMPLE_TEMPERATURE,
        )
        for model_id in ids
    ]
    spec = EnsembleSpec(description="embedded local models served over loopback", agents=agents)
    return spec.with_sampling(LOCAL_TEMPERATURE, LOCAL_SEED) if explicit_sampling else spec


@dataclass(frozen=True)
class EndpointProblem:
    """An unreachable or refusing endpoint: which agent, which URL, and what happened."""

    agent_id: str
    url: str
    reason: str

    def __str__(self) -> str:
        return scrub(f"agent {self.agent_id!r}: {self.url}: {self.reason}")


def _probe(url: str, key: str | None, timeout_s: float) -> str | None:
    request = urllib.request.Request(url, method="GET")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s):
            return None
    except urllib.error.HTTPError as exc:
        hint = " (check the key)" if exc.code in (401, 403) else ""
        return f"HTTP {exc.code}{hint}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"unreachable ({reason})"


def check_endpoints(
    spec: EnsembleSpec,
    *,
    timeout_s: float = 3.0,
    env: Mapping[str, str] | None = None,
) -> list[EndpointProblem]:
    """Probe ``GET {base_url}/models`` of every remote agent, in parallel, and list failures.

    Meant before a long run: a typo in a URL should fail in seconds, not mid-deliberation.
    Local agents are skipped (their servers are probed on start).
    """
    source = os.environ if env is None else env
    remote = [agent for agent in spec.agents if agent.base_url is not None]
    if not remote:
        return []

    def probe(agent: AgentSpec) -> EndpointProblem | None:
        assert agent.base_url is not None
        url = agent.base_url.rstrip("/") + "/models"
        key = source.get(agent.api_key_env) if agent.api_key_env else None
        reason = _probe(url, key, timeout_s)
        return EndpointProblem(agent.agent_id, url, reason) if reason else None

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(remote))) as pool:
        results = list(pool.map(probe, remote))
    return [problem for problem in results if problem is not None]


def agents_from_file(
    path: str | os.PathLike[str],
    base_urls_for_local: Mapping[str, str] | None = None,
) -> list[Agent]:
    """Shortcut for scripts whose file has only remote agents (or already-served local ones)."""
    return load_ensemble_file(path).build_agents(base_urls_for_local)


__all__ = [
    "LOCAL_API_KEY",
    "LOCAL_SEED",
    "LOCAL_TEMPERATURE",
    "AgentSpec",
    "EndpointProblem",
    "EnsembleError",
    "EnsembleSpec",
    "agents_from_file",
    "check_endpoints",
    "default_local_ensemble",
    "load_ensemble_file",
    "parse_ensemble",
]
