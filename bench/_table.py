"""Shared helper for benchmarks: time a callable and print figures as a table with ratios."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

__all__ = ["Row", "best_rate", "print_table"]


def _console() -> Console:
    """A console that does not squeeze tables to 80 columns when output is piped to a file."""
    return Console() if sys.stdout.isatty() else Console(width=160)


@dataclass(frozen=True)
class Row:
    """One benchmark result: ``count`` items processed in ``seconds``."""

    name: str
    count: int
    seconds: float
    note: str = ""

    @property
    def rate_per_s(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")


def best_rate(
    name: str, count: int, fn: Callable[[], object], repeat: int = 3, note: str = ""
) -> Row:
    """Run ``fn`` ``repeat`` times and keep the fastest run (least disturbed by noise)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return Row(name, count, best, note)


def print_table(
    title: str, rows: list[Row], unit: str = "msg/s", baseline: str | None = None
) -> None:
    """Print rows as a table; ratios are against ``baseline`` (a row name) or the last row."""
    base = next((r for r in rows if r.name == baseline), rows[-1])
    table = Table(title=title)
    table.add_column("implementation")
    table.add_column("items", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column(unit, justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("note")
    for r in rows:
        table.add_row(
            r.name,
            f"{r.count:,}",
            f"{r.seconds:.3f}",
            f"{r.rate_per_s:,.0f}",
            f"{r.rate_per_s / base.rate_per_s:.2f}",
            r.note,
        )
    console = _console()
    console.print(table)
    console.print(f"ratio = rate / rate of [bold]{base.name}[/bold] (measured in the same run)")
