"""The ``nsed`` command line.

Kept small on purpose: each command group lives in its own module and registers on ``app``
here, so groups can be added without touching one another.
"""

import typer

from nsed_graph.cli import ask, bench, report
from nsed_graph.cli.models import app as models_app

app = typer.Typer(
    name="nsed",
    help="NSED multi-LLM deliberation: several models as one composite model.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(models_app, name="models")
app.command("ask")(ask.ask)
app.command("bench")(bench.bench)
app.command("report")(report.report)


def main() -> None:
    """Console-script entry point (``nsed``)."""
    app()


__all__ = ["app", "main"]
