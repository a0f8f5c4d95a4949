"""The main job as a new user runs it (issue 17): ``nsed ask "..." --fast`` on the two small
embedded models, several times, must end with an answer and exit 0 every time.

Marked ``local_llm``: it serves SmolLM2-135M and Qwen2.5-Coder-0.5B on 127.0.0.1 for each run,
exactly as the command does (weights from the user cache, fetched on first use).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nsed_graph.cli import app

pytestmark = pytest.mark.local_llm

QUESTION = "What is 17 + 25? Give the final answer as a number."
RUNS = 3


@pytest.mark.timeout(1200)  # three full runs of the command: about 95 s each on two cores
def test_the_fast_main_job_answers_and_exits_0_every_time(tmp_path: Path) -> None:
    runner = CliRunner()
    outcomes = []
    for run in range(RUNS):
        record = tmp_path / f"ask-{run}.json"
        result = runner.invoke(app, ["ask", QUESTION, "--fast", "--json", str(record)])
        saved = json.loads(record.read_text()) if record.exists() else {}
        outcomes.append((result.exit_code, saved.get("answer"), saved.get("stop_reason")))
        assert result.exit_code == 0, f"run {run + 1}: {outcomes[-1]}\n{result.output}"
        assert saved["answer"], f"run {run + 1} ended without an answer: {outcomes[-1]}"
        assert saved["error"] is None
