"""The Typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="overflight",
    help="Overflight: an open, unfiltered flight tracker for open-source investigation.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    """Decode, track and reconstruct flights from what 1090 MHz receivers hear."""
