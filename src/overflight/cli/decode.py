"""``overflight decode FILE``: decode every frame of a capture (or standard input) and print it."""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from overflight.cli.app import (
    app,
    describe_read_error,
    guarded,
    input_path,
    progress,
    read_failed,
    shown,
    untrusted,
)
from overflight.jsonout import dumps

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    from overflight.frames import FrameBatch

__all__ = ["ReadsbCounter", "decode", "json_lines", "text_lines", "with_verdict"]

_UNDEFINED_WHY = "DF 1-3, 6-10, 12-15, 19, 22, 23 (readsb drops them)"
_AP_WHY = "address/parity, address not confirmed"
_FIX_WHY = "1-bit fix to an unconfirmed address"
_UNDEFINED_LABEL = f"not valid: {_UNDEFINED_WHY}"
_AP_LABEL = f"not valid: {_AP_WHY}"
_FIX_LABEL = f"not valid: {_FIX_WHY}"
_READSB_WHYS = (_UNDEFINED_WHY, _AP_WHY, _FIX_WHY)


@cache
def _df_tables() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """By DF: formats readsb decodes; of those, the address/parity ones."""
    import numpy as np

    readsb = np.zeros(32, dtype=bool)
    readsb[[0, 4, 5, 11, 16, 17, 18, 20, 21, *range(24, 32)]] = True
    ap = np.zeros(32, dtype=bool)
    ap[[0, 4, 5, 16, 20, 21, *range(24, 32)]] = True
    return readsb, ap


class ReadsbCounter:
    """Counts frames the way readsb accepts them (``mode_s.c``, ``decodeModesMessage``).

    readsb decodes DF 0/4/5/16/24-31 and DF20/21 (address/parity) only when the address from
    the parity is one it has confirmed, DF11/17/18 when the CRC holds (a corrected frame whose
    fix changed the address only when that address is confirmed), and drops every other format
    (DF 1-3, 6-10, 12-15, 19, 22, 23: no CRC rule). An address is confirmed by a DF17, or a
    DF11 with IID 0, with a clean CRC and no correction, heard earlier in the stream within
    ``ttl_s`` (readsb's ICAO filter, 60 s). Rows the decoder already marked invalid for another
    reason (CRC, length, hex) keep that reason; ``counts`` holds the rest by label.
    """

    __slots__ = ("confirmed", "counts")

    def __init__(self, ttl_s: float = 60.0) -> None:
        from overflight.modes import AddressFilter

        self.confirmed = AddressFilter(ttl_s=ttl_s)
        self.counts: Counter[str] = Counter()

    def add(self, table: pa.Table, batch: FrameBatch) -> list[str | None]:
        """Count one decoded batch (``table`` from :func:`decode_batch` of ``batch``); return
        each row's reason for not being valid (None: valid), the decoder's (``crc``, ...) or one
        of readsb's rules above, the same words the summary counts under "not valid: "."""
        import numpy as np

        n = table.num_rows
        if n == 0:
            return []
        readsb_df, ap_df = _df_tables()
        reason = table.column("invalid_reason").combine_chunks().dictionary_decode()
        rs = np.asarray(reason.fill_null("").to_numpy(zero_copy_only=False), dtype=object)
        ok = (rs == "") | (rs == "unknown address")
        df = np.asarray(table.column("df").fill_null(0).to_numpy(), dtype=np.int64)
        addr = np.asarray(table.column("address").fill_null(0).to_numpy(), dtype=np.int64)
        fixed = np.asarray(table.column("corrected_bits").fill_null(0).to_numpy()) > 0
        crc_ok = np.asarray(table.column("crc_ok").fill_null(False).to_numpy(), dtype=bool)
        iid = np.asarray(table.column("interrogator_id").fill_null(1).to_numpy())
        t = batch.time_s
        # Addresses confirmed in stream order: before the batch, or by an earlier row of it.
        confirms = ok & ~fixed & crc_ok & ((df == 17) | ((df == 11) & (iid == 0)))
        known = np.isin(addr, self.confirmed.addresses())
        ci = np.flatnonzero(confirms)
        if ci.size:
            order = np.lexsort((ci, addr[ci]))
            ca, first = addr[ci][order], ci[order]
            head = np.r_[True, ca[1:] != ca[:-1]]
            ca, first = ca[head], first[head]
            pos = np.clip(np.searchsorted(ca, addr), 0, ca.size - 1)
            known |= (ca[pos] == addr) & (first[pos] < np.arange(n))
        undefined = ok & ~readsb_df[df]
        ap = ok & readsb_df[df] & ap_df[df] & ~known
        # A fix that changed the address (the original AA differs) to an unconfirmed one.
        orig = (batch.data[:, 1].astype(np.int64) << 16) | (batch.data[:, 2].astype(np.int64) << 8)
        orig |= batch.data[:, 3].astype(np.int64)
        moved = ok & fixed & np.isin(df, (11, 17, 18)) & (orig != addr) & ~known
        self.counts["valid"] += int((ok & ~undefined & ~ap & ~moved).sum())
        self.counts[_UNDEFINED_LABEL] += int(undefined.sum())
        self.counts[_AP_LABEL] += int(ap.sum())
        self.counts[_FIX_LABEL] += int(moved.sum())
        if ci.size:
            self.confirmed.confirm_batch(addr[ci], t[ci])
        why = rs.copy()
        why[ok] = None
        why[undefined] = _UNDEFINED_WHY
        why[ap] = _AP_WHY
        why[moved] = _FIX_WHY
        out: list[str | None] = why.tolist()
        return out


_PASS_THROUGH = ("valid", "invalid_reason", "frame_hex", "receiver", "signal_dbfs", "ticks")
# compact text output: these columns first, then any other non-null field as name=value
_LEAD = ("time_s", "df", "icao24", "typecode")
_SKIP_TEXT = frozenset(
    {
        "address",
        "crc_ok",
        "corrected_bits",
        "address_from_parity",
        "non_icao",
        "source",
        "valid",
        "receiver",
        "ticks",
        "signal_dbfs",
        "bds_candidates",
        "invalid_reason",
        "frame_hex",
        *_LEAD,
    }
)


def _batches(path: str, fmt: str, sample_rate_hz: float) -> tuple[Iterator[FrameBatch], Any]:
    from overflight.sources.files import read_batches

    reader = read_batches(path, fmt=None if fmt == "auto" else fmt, sample_rate_hz=sample_rate_hz)
    return reader, reader.stats


def _input_rows(read_stats: Any) -> list[tuple[str, int]]:
    """(label, count) of the input skipped by the reader: lines by reason, Beast damage."""
    rows = [(f"input skipped: {k}", v) for k, v in sorted(read_stats.skipped.items()) if v]
    b = read_stats.beast
    if read_stats.format == "beast":
        rows += [
            (f"input skipped: Beast {label}", v)
            for label, v in (
                ("bad frames", b.bad_frames),
                ("unknown types", b.unknown_types),
                ("resyncs", b.resyncs),
                ("garbage bytes", b.garbage_bytes),
                ("truncated bytes", b.truncated_bytes),
            )
            if v
        ]
    return rows


def _check_input(fmt: str, sample_rate_hz: float) -> None:
    """Reject an unknown ``--format`` or an unusable ``--sample-rate`` before reading."""
    from overflight.sources.files import FORMATS
    from overflight.sources.iq import IQDemodulator

    if fmt != "auto" and fmt not in FORMATS:
        raise typer.BadParameter(
            f"{fmt!r} is not one of auto, {', '.join(FORMATS)}", param_hint="--format"
        )
    if fmt == "iq":
        try:
            IQDemodulator(sample_rate_hz=sample_rate_hz)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--sample-rate") from e


def _json_fragments(col: pa.ChunkedArray, name: str, sep: str = "") -> list[str]:
    """``"name":value`` JSON text of every cell of a column; the work is per non-null cell.

    With ``sep`` (extra columns), null cells give "" and others are prefixed by ``sep``.
    """
    import numpy as np
    import pyarrow as pa

    arr = col.combine_chunks()
    key = sep + dumps(name) + ":"
    null = "" if sep else key + "null"
    n = len(arr)
    out = [null] * n
    if arr.null_count == n:
        return out
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    idx = np.flatnonzero(valid).tolist()
    typ = arr.type
    if pa.types.is_dictionary(typ):
        words = [key + dumps(v) for v in arr.dictionary.to_pylist()]
        codes = arr.indices.fill_null(0).to_numpy(zero_copy_only=False)[valid].tolist()
        for i, c in zip(idx, codes, strict=True):
            out[i] = words[c]
        return out
    if pa.types.is_list(typ) or pa.types.is_string(typ):
        memo: dict[Any, str] = {}
        values = arr.to_pylist()
        for i in idx:
            v = values[i]
            k = tuple(v) if isinstance(v, list) else v
            f = memo.get(k)
            if f is None:
                f = memo[k] = key + dumps(v)
            out[i] = f
        return out
    vals = arr.fill_null(False if pa.types.is_boolean(typ) else 0).to_numpy(zero_copy_only=False)
    picked = vals[valid].tolist()
    if pa.types.is_boolean(typ):
        t, f = key + "true", key + "false"
        for i, v in zip(idx, picked, strict=True):
            out[i] = t if v else f
    elif pa.types.is_floating(typ):
        for i, v in zip(idx, picked, strict=True):
            if math.isfinite(v):
                out[i] = key + repr(v)
    else:
        for i, v in zip(idx, picked, strict=True):
            out[i] = key + str(v)
    return out


def json_lines(table: pa.Table) -> list[str]:
    """One JSON object per row: every Message field (null where not applicable) and the
    pass-through columns, plus the other Comm-B register fields where set."""
    from overflight.modes import MESSAGE_FIELDS

    present = set(table.column_names)
    names = [n for n in (*MESSAGE_FIELDS, *_PASS_THROUGH) if n != "commb" and n in present]
    extra = [n for n in table.column_names if n not in names and n != "commb"]
    main = [_json_fragments(table.column(n), n) for n in names]
    more = [
        _json_fragments(table.column(n), n, ",")
        for n in extra
        if table.column(n).null_count < table.num_rows
    ]
    if more:
        return [
            "{" + ",".join(a) + "".join(b) + "}"
            for a, b in zip(zip(*main, strict=True), zip(*more, strict=True), strict=True)
        ]
    return ["{" + ",".join(a) + "}" for a in zip(*main, strict=True)]


def _text_fragments(col: pa.ChunkedArray, name: str) -> list[str]:
    """`` name=value`` for every non-null cell of a column, "" for nulls (per non-null cell);
    text shown literally (:func:`shown`)."""
    import numpy as np
    import pyarrow as pa

    arr = col.combine_chunks()
    n = len(arr)
    out = [""] * n
    if arr.null_count == n:
        return out
    key = f" {name}="
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    idx = np.flatnonzero(valid).tolist()
    typ = arr.type
    if pa.types.is_dictionary(typ):
        words = [key + shown(v) for v in arr.dictionary.to_pylist()]
        codes = arr.indices.fill_null(0).to_numpy(zero_copy_only=False)[valid].tolist()
        for i, c in zip(idx, codes, strict=True):
            out[i] = words[c]
        return out
    if pa.types.is_list(typ) or pa.types.is_string(typ):
        values = arr.to_pylist()
        for i in idx:
            v = values[i]
            out[i] = key + shown(",".join(map(str, v)) if isinstance(v, list) else v)
        return out
    vals = arr.fill_null(False if pa.types.is_boolean(typ) else 0).to_numpy(zero_copy_only=False)
    picked = vals[valid].tolist()
    if pa.types.is_floating(typ):
        for i, v in zip(idx, picked, strict=True):
            out[i] = f"{key}{v:.6g}"
    else:
        for i, v in zip(idx, picked, strict=True):
            out[i] = key + str(v)
    return out


def text_lines(table: pa.Table, *, ticks_from_start: bool = False) -> list[str]:
    """One readable line per row: time, DF, address, type code, [why not valid], then every
    non-null field. ``ticks_from_start`` (I/Q input without a start time): a row without
    ``time_s`` shows the seconds since the first sample, from its 12 MHz ticks, as ``+s``."""
    times = table.column("time_s").to_pylist()
    if ticks_from_start and "ticks" in table.column_names:
        ticks = table.column("ticks").to_pylist()
        times = [
            t if t is not None or k is None else f"+{k / 12e6:.6f}"
            for t, k in zip(times, ticks, strict=True)
        ]
    dfs = table.column("df").to_pylist()
    icaos = table.column("icao24").to_pylist()
    tcs = table.column("typecode").to_pylist()
    reasons = table.column("invalid_reason").to_pylist()
    names = [n for n in table.column_names if n not in _SKIP_TEXT]
    frags = [_text_fragments(table.column(n), n) for n in names]
    lines = []
    for i, rest in enumerate(zip(*frags, strict=True)):
        t, d, tc, why = times[i], dfs[i], tcs[i], reasons[i]
        lines.append(
            (f"{t:>17}" if isinstance(t, str) else f"{t:17.6f}" if t is not None else " " * 17)
            + f" DF{d if d is not None else '?':<2} {icaos[i] or '------'} "
            + (f"TC{tc:<2}" if tc is not None else "    ")
            + (f" [{why}]" if why is not None else "")
            + "".join(rest)
        )
    return lines


def with_verdict(table: pa.Table, batch: FrameBatch, why: list[str | None]) -> pa.Table:
    """``table`` with ``valid`` and ``invalid_reason`` set from ``why`` (see
    :meth:`ReadsbCounter.add`) and ``frame_hex``, each frame as received (before any fix)."""
    import pyarrow as pa

    n = table.num_rows
    hexes = batch.data[:n, :14].tobytes().hex()
    lengths = batch.length_bytes[:n].tolist()
    frame_hex = [hexes[28 * i : 28 * i + 2 * int(m)] for i, m in enumerate(lengths)]
    for name, col in (
        ("valid", pa.array([w is None for w in why], pa.bool_())),
        ("invalid_reason", pa.array(why, pa.string())),
        ("frame_hex", pa.array(frame_hex, pa.string())),
    ):
        i = table.schema.get_field_index(name)
        table = table.append_column(name, col) if i < 0 else table.set_column(i, name, col)
    return table


def _write_rows(table: pa.Table, out: TextIO, as_json: bool, ticks_from_start: bool) -> None:
    lines = json_lines(table) if as_json else text_lines(table, ticks_from_start=ticks_from_start)
    out.write("\n".join(lines) + ("\n" if lines else ""))


@app.command()
def decode(
    file: Annotated[
        str,
        typer.Argument(
            help="capture: hex lines, CSV, JSON lines, Beast, AVR, gzip, RTL-SDR I/Q "
            "(with --format iq); '-' = stdin"
        ),
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="input format: auto (detect) or beast, avr, hex, csv, jsonl, text, iq "
            "(raw RTL-SDR unsigned 8-bit I/Q, never auto-detected)",
        ),
    ] = "auto",
    sample_rate: Annotated[
        float,
        typer.Option("--sample-rate", help="I/Q samples per second (--format iq): 2.0e6 or 2.4e6"),
    ] = 2.0e6,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object per frame")] = False,
    no_fix: Annotated[
        bool, typer.Option("--no-fix", help="do not correct 1-bit errors (DF11/17/18)")
    ] = False,
    no_filter: Annotated[
        bool,
        typer.Option(
            "--no-filter", help="accept every address recovered from parity (DF0/4/5/16/20/21)"
        ),
    ] = False,
    summary: Annotated[
        bool, typer.Option("--summary/--no-summary", help="counts on stderr at the end")
    ] = True,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress display on a terminal")
    ] = False,
) -> None:
    """Decode every Mode S / ADS-B frame of FILE and print its fields.

    Every frame is a row, valid or not: rows and summary follow readsb's rules
    (mode_s.c). Not valid: a CRC or length failure; DF 1-3, 6-10, 12-15, 19, 22 and 23 (rows
    kept: DF19/DF22 are military formats worth seeing); an address/parity frame whose address
    no clean DF17 or DF11 (IID 0) confirmed earlier in the stream; a 1-bit fix that moved a
    DF11/17/18 to an unconfirmed address. Each row says why ([reason] in text,
    "invalid_reason" in JSON), and JSON rows carry the frame as received ("frame_hex").
    --no-filter keeps crc_ok true for address/parity frames whose address is unconfirmed;
    validity is readsb's either way.
    """
    input_path(Path(file), "FILE")
    _check_input(fmt, sample_rate)
    from rich.console import Console
    from rich.table import Table

    from overflight.modes import AddressFilter, batch_stats, decode_batch

    err = Console(stderr=True)
    out = sys.stdout
    known = None if no_filter else AddressFilter()
    readsb = ReadsbCounter()
    totals: Counter[str] = Counter()
    dfs: Counter[int] = Counter()
    batches, read_stats = _batches(file, fmt, sample_rate)
    failure: list[BaseException] = []
    ticks_from_start = fmt == "iq"
    try:
        with progress("decoding", unit="frames", quiet=quiet) as step:
            for batch in guarded(batches, failure):
                table = decode_batch(batch, fix=not no_fix, known_addresses=known)
                stats = batch_stats(table)
                totals["frames"] += stats["rows"]
                why = readsb.add(table, batch)
                for reason in why:
                    if reason is not None and not reason.startswith(_READSB_WHYS):
                        totals[reason] += 1
                for d, c in Counter(table.column("df").to_pylist()).items():
                    if d is not None:
                        dfs[int(d)] += c
                table = with_verdict(table, batch, why)
                _write_rows(table, out, json_out, ticks_from_start)
                step(len(batch))
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return
    if summary:
        t = Table(title="decode summary", show_header=True)
        t.add_column("count")
        t.add_column("value", justify="right")
        t.add_row("input format", untrusted(read_stats.format))
        t.add_row("frames decoded", f"{totals['frames']:,}")
        t.add_row("valid (as readsb accepts them)", f"{readsb.counts['valid']:,}")
        for label in (_UNDEFINED_LABEL, _AP_LABEL, _FIX_LABEL):
            t.add_row(label, f"{readsb.counts[label]:,}")
        for k, v in sorted(totals.items()):
            if k != "frames":
                t.add_row(untrusted(f"invalid: {k}"), f"{v:,}")
        for label, v in _input_rows(read_stats):
            t.add_row(untrusted(label), f"{v:,}")
        for d, c in sorted(dfs.items()):
            t.add_row(f"DF{d}", f"{c:,}")
        err.print(t)
    broken = failure or any(k.startswith("broken input") for k in read_stats.skipped)
    if totals["frames"] == 0 and read_stats.format != "iq" and not broken:
        # Nothing usable at all (I/Q without a burst is a quiet sky, not an error): exit 1.
        typer.echo(f"error: {shown(file)}: no frames found: is this a capture? (raw I/Q needs "
                   "--format iq)", err=True)
        raise typer.Exit(1)
    kept = (
        f"the {totals['frames']:,} frames before it were decoded"
        if totals["frames"]
        else "nothing before it could be read"
    )
    if any(k.startswith("broken input") for k in read_stats.skipped):
        # The exit rule (cli/app.py): what was read is used (0, a warning); nothing read is 1.
        word = "warning" if totals["frames"] else "error"
        typer.echo(
            f"{word}: {shown(file)}: the input ends early: truncated or corrupt gzip ({kept})",
            err=True,
        )
        if not totals["frames"] and not failure:
            raise typer.Exit(1)
    if failure:
        if not totals["frames"]:
            raise read_failed(file, failure[0], note=kept)
        typer.echo(
            f"warning: {shown(file)}: the input ends early: {describe_read_error(failure[0])} "
            f"({kept})",
            err=True,
        )
