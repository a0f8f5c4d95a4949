"""The docs cover every knob, link only to files that exist, and the README's commands match CI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nsed_graph import NSEDConfig

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
PROTOCOL_SECTIONS = (
    "## 1. Broker",
    "## 2. Propose",
    "## 3. Review",
    "## 4. Vote",
    "## 5. Forget gate",
    "## 6. Stop",
    "## What a run returns",
    "## Faults",
)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_config_field_is_documented() -> None:
    reference = (DOCS / "configuration.md").read_text()
    missing = [name for name in NSEDConfig.model_fields if f"`{name}`" not in reference]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    first_lines = README.split("## What NSED is")[0]
    assert "make demo" in first_lines
    assert "make test" in first_lines
    assert "exec make test" in (ROOT / ".ci" / "run").read_text()


def test_the_protocol_page_keeps_the_section_headings_docstrings_cite() -> None:
    headings = (DOCS / "protocol.md").read_text().splitlines()
    missing = [section for section in PROTOCOL_SECTIONS if section not in headings]
    assert missing == []


@pytest.mark.parametrize(
    "page", [*sorted(DOCS.glob("*.md")), ROOT / "README.md"], ids=lambda path: path.name
)
def test_every_relative_link_points_to_an_existing_file(page: Path) -> None:
    targets = [t for t in _LINK.findall(page.read_text()) if "://" not in t]
    files = [t.split("#", 1)[0] for t in targets if not t.startswith("#")]
    assert files, f"{page.name} links to no file"  # the pattern still matches the page's links
    broken = [t for t in files if not (page.parent / t).exists()]
    assert broken == []


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    prose = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", prose, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize(
    "page", [*sorted(DOCS.glob("*.md")), ROOT / "README.md"], ids=lambda path: path.name
)
def test_every_link_to_a_heading_finds_it(page: Path) -> None:
    broken = []
    for link in _LINK.findall(page.read_text()):
        path, _, anchor = link.partition("#")
        target = page.parent / path if path else page
        checked = anchor and "://" not in link and target.suffix == ".md"
        if checked and anchor not in _anchors(target):
            broken.append(link)
    assert broken == []


def test_the_configuration_example_runs_as_written() -> None:
    page = (DOCS / "configuration.md").read_text()
    example, printed = re.findall(r"```(?:python)?\n(.*?)```", page, re.DOTALL)[:2]
    output: list[str] = []
    exec(compile(example, "configuration.md", "exec"), {"print": lambda *a: output.append(a)})
    assert [" ".join(map(str, line)) for line in output] == printed.strip().splitlines()
