"""The README's configuration reference covers every knob, and its commands match CI."""

from __future__ import annotations

from pathlib import Path

from nsed_graph import NSEDConfig

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_config_field_is_documented() -> None:
    missing = [name for name in NSEDConfig.model_fields if f"`{name}`" not in README]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    first_lines = README.split("## What NSED is")[0]
    assert "make demo" in first_lines
    assert "make test" in first_lines
    assert "exec make test" in (ROOT / ".ci" / "run").read_text()
