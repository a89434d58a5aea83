"""SBS BaseStation lines (port 30003), both directions.

``MSG,<type>,<session>,<aircraft>,<HEX>,<flight>,<date gen>,<time gen>,<date log>,<time log>,``
``<callsign>,<altitude ft>,<ground speed kt>,<track deg>,<lat>,<lon>,<vertical rate fpm>,<squawk>,``
``<alert>,<emergency>,<spi>,<on ground>`` — dates ``YYYY/MM/DD``, times ``HH:MM:SS.mmm`` (UTC here),
flags ``-1`` (true, as dump1090 writes) or ``1`` / ``0``, empty where unknown. Transmission types:
1 identification, 2 surface position, 3 airborne position, 4 velocity, 5 surveillance altitude,
6 surveillance identity (squawk), 7 air-to-air, 8 all-call.

This module only converts lines and :class:`SbsRecord` values; building records from tracked
aircraft state is the tracker's job.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from overflight.frames import FrameBatch

__all__ = [
    "SbsRecord",
    "clean_field",
    "flag_codes",
    "format_sbs",
    "format_sbs_columns",
    "format_sbs_records",
    "parse_sbs_line",
    "records_from_frames",
]


@dataclass(frozen=True, slots=True)
class SbsRecord:
    """One BaseStation line. Times are UTC epoch seconds; None where the field is empty."""

    transmission_type: int
    icao24: str
    time_s: float
    logged_time_s: float | None = None
    callsign: str | None = None
    altitude_ft: int | None = None
    groundspeed_kt: float | None = None
    track_deg: float | None = None
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    vertical_rate_fpm: int | None = None
    squawk: str | None = None
    alert: bool | None = None
    emergency: bool | None = None
    spi: bool | None = None
    on_ground: bool | None = None
    message_type: str = "MSG"
    session_id: int = 1
    aircraft_id: int = 1
    flight_id: int = 1


_LIMIT = 1e10  # numbers at or beyond this magnitude are written empty (_sbs_fast.NUMBER_LIMIT)
_UNSAFE = re.compile(r"[^\x20-\x2b\x2d-\x7e]")


def clean_field(s: str) -> str:
    """A string for an SBS field: characters that are not printable ASCII, and commas (which
    would shift every later field), become ``?`` (callsigns and squawks are untrusted)."""
    return _UNSAFE.sub("?", s)


def _fmt_time(t: float) -> tuple[str, str]:
    """Date and time fields of UTC epoch seconds (both empty when ``t`` is not a date)."""
    try:
        d = datetime.fromtimestamp(t, UTC)
    except (ValueError, OverflowError, OSError):
        return "", ""
    return (
        f"{d.year:04d}/{d.month:02d}/{d.day:02d}",
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{d.microsecond // 1000:03d}",
    )


def _num(v: float | None, digits: int) -> str:
    if v is None or not abs(v) < _LIMIT:  # NaN too
        return ""
    return f"{v:.{digits}f}" if digits else str(round(v))


def _flag(v: bool | None) -> str:
    return "" if v is None else ("-1" if v else "0")


def format_sbs(r: SbsRecord) -> str:
    """One BaseStation line (without line ending); the reference for :func:`format_sbs_columns`.

    String fields pass through :func:`clean_field`; a time that is not a date, NaN and numbers
    beyond ±1e10 leave their fields empty."""
    gd, gt = _fmt_time(r.time_s)
    logged = r.logged_time_s
    ld, lt = _fmt_time(logged if logged is not None and math.isfinite(logged) else r.time_s)
    fields = [
        clean_field(r.message_type), str(r.transmission_type), str(r.session_id),
        str(r.aircraft_id), clean_field(r.icao24.upper()), str(r.flight_id), gd, gt, ld, lt,
        clean_field(r.callsign or ""), _num(r.altitude_ft, 0), _num(r.groundspeed_kt, 1),
        _num(r.track_deg, 1), _num(r.latitude_deg, 5), _num(r.longitude_deg, 5),
        _num(r.vertical_rate_fpm, 0), clean_field(r.squawk or ""), _flag(r.alert),
        _flag(r.emergency), _flag(r.spi), _flag(r.on_ground),
    ]
    return ",".join(fields)


_F64 = npt.NDArray[np.float64]
_I8 = npt.NDArray[np.int8]


class _Strings:
    """The string fields of a batch of lines, interned (cleaned, ASCII) for the kernel."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.items: list[bytes] = []

    def code(self, s: str | None) -> int:
        if not s:
            return -1
        c = self.index.get(s)
        if c is None:
            c = self.index[s] = len(self.items)
            self.items.append(clean_field(s).encode("ascii"))
        return c

    def column(self, values: Any, n: int, *, upper: bool = False) -> npt.NDArray[np.int32]:
        """Codes of ``values``: None (every row empty), one string (every row), an Arrow
        string or dictionary array (nulls empty), ``(indices, words)`` (an index into the
        words per row, -1 empty; words as a sequence or an Arrow array) or a sequence of
        ``str | None``."""
        if values is None or isinstance(values, str):
            v = values.upper() if upper and values is not None else values
            return np.full(n, self.code(v), np.int32)
        if isinstance(values, tuple):
            idx, words = values
            return self._lookup(np.asarray(idx, np.int64), words, upper)
        import pyarrow as pa

        if isinstance(values, pa.ChunkedArray):
            if values.num_chunks == 1:
                values = values.chunk(0)
            else:
                if pa.types.is_dictionary(values.type):
                    values = values.cast(values.type.value_type)
                values = values.combine_chunks()
        if isinstance(values, pa.Array):
            if not pa.types.is_dictionary(values.type):
                values = values.dictionary_encode()
            import pyarrow.compute as pc

            idx = pc.fill_null(values.indices, -1).to_numpy(zero_copy_only=False)
            return self._lookup(idx.astype(np.int64), values.dictionary, upper)
        return np.array(
            [self.code(w.upper() if upper and w is not None else w) for w in values], np.int32
        ).reshape(n)

    def _lookup(
        self, idx: npt.NDArray[np.int64], words: Any, upper: bool
    ) -> npt.NDArray[np.int32]:
        """Codes of ``words[idx]`` (-1 empty; ``words`` a sequence of ``str | None`` or an
        Arrow string array); only the words in use are interned (a decoder's dictionary may
        hold thousands)."""
        lut = np.full(len(words) + 1, -1, np.int32)  # idx -1 picks the last: empty
        if idx.size and len(words):
            used = np.flatnonzero(np.bincount(idx[idx >= 0], minlength=len(words)))
            for u in used.tolist():
                w = words[u]
                if w is not None and not isinstance(w, str):
                    w = w.as_py()  # an Arrow scalar
                lut[u] = self.code(w.upper() if upper and w is not None else w)
        return np.ascontiguousarray(lut[idx])

    def table(self) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        lengths = np.array([len(b) for b in self.items] or [0], np.int64)
        w = max(int(lengths.max()), 1)
        flat = b"".join(b.ljust(w, b"\0") for b in self.items) or bytes(w)
        return np.frombuffer(flat, np.uint8).reshape(-1, w).copy(), lengths


def flag_codes(values: Any, valid: Any = None) -> _I8:
    """Flags for :func:`format_sbs_columns`: 1 true, 0 false, -1 empty (where ``valid`` is
    False, or for None in a sequence)."""
    if valid is None and not isinstance(values, np.ndarray):
        return np.array([-1 if v is None else (1 if v else 0) for v in values], np.int8)
    out = np.asarray(values).astype(bool).astype(np.int8)
    if valid is not None:
        out[~np.asarray(valid, bool)] = -1
    return out


def _f64(v: Any, n: int) -> _F64:
    if v is None:
        return np.full(n, np.nan)
    return np.broadcast_to(np.asarray(v, np.float64), (n,))


def format_sbs_columns(
    transmission_type: Any,
    time_s: Any,
    *,
    address: Any = None,
    icao24: Any = None,
    logged_time_s: Any = None,
    callsign: Any = None,
    altitude_ft: Any = None,
    groundspeed_kt: Any = None,
    track_deg: Any = None,
    latitude_deg: Any = None,
    longitude_deg: Any = None,
    vertical_rate_fpm: Any = None,
    squawk: Any = None,
    alert: Any = None,
    emergency: Any = None,
    spi: Any = None,
    on_ground: Any = None,
    message_type: Any = "MSG",
    session_id: Any = 1,
    aircraft_id: Any = 1,
    flight_id: Any = 1,
) -> bytes:
    """Every line of a batch (``\r\n`` after each), in one compiled pass: byte for byte what
    :func:`format_sbs` writes for the same values.

    One row per line; each argument is a column (or one value for every row). Times in UTC
    epoch seconds (``logged_time_s`` NaN or None: the message time); numbers as floats, NaN
    empty (altitude ft, speed kt, track deg, lat/lon deg, vertical rate ft/min); flags as
    :func:`flag_codes`; ``address`` int (24-bit address, bit 24 set for a non-ICAO one,
    negative: use ``icao24``); strings (``icao24``, ``callsign``, ``squawk``,
    ``message_type``) as one string, Arrow arrays or sequences, nulls empty, cleaned by
    :func:`clean_field`."""
    from overflight.sources import _sbs_fast

    tt = np.asarray(transmission_type, np.int64).reshape(-1)
    n = tt.size
    if n == 0:
        return b""
    t = _f64(time_s, n)
    lt = t if logged_time_s is None else _f64(logged_time_s, n)
    lt = np.where(np.isfinite(lt), lt, t)
    strings = _Strings()
    codes = np.stack([
        strings.column(message_type, n), strings.column(icao24, n, upper=True),
        strings.column(callsign, n), strings.column(squawk, n),
    ])
    table, lengths = strings.table()
    ints = np.stack([tt, *(np.broadcast_to(np.asarray(v, np.int64), (n,))
                           for v in (session_id, aircraft_id, flight_id))])
    addr = (np.full(n, -1, np.int64) if address is None
            else np.broadcast_to(np.asarray(address, np.int64), (n,)))
    numbers = np.stack([_f64(v, n) for v in (altitude_ft, groundspeed_kt, track_deg,
                                             latitude_deg, longitude_deg, vertical_rate_fpm)])
    flags = np.stack([np.full(n, -1, np.int8) if f is None
                      else np.broadcast_to(np.asarray(f, np.int8), (n,))
                      for f in (alert, emergency, spi, on_ground)])
    out = np.empty(n * (_sbs_fast.LINE_BYTES + 4 * table.shape[1]), np.uint8)
    m = _sbs_fast.write(
        out, ints, codes, table, lengths, np.ascontiguousarray(addr), np.stack([t, lt]),
        numbers, _sbs_fast.DIGITS, flags,
    )
    return out[:m].tobytes()


def format_sbs_records(records: Sequence[SbsRecord]) -> bytes:
    """:func:`format_sbs` of every record, ``\r\n`` after each, formatted as columns."""
    if not records:
        return b""
    rs = records
    try:
        return format_sbs_columns(
            [r.transmission_type for r in rs], [r.time_s for r in rs],
            icao24=[r.icao24 for r in rs],
            logged_time_s=[math.nan if r.logged_time_s is None else r.logged_time_s for r in rs],
            callsign=[r.callsign for r in rs], squawk=[r.squawk for r in rs],
            altitude_ft=[_nan(r.altitude_ft) for r in rs],
            groundspeed_kt=[_nan(r.groundspeed_kt) for r in rs],
            track_deg=[_nan(r.track_deg) for r in rs],
            latitude_deg=[_nan(r.latitude_deg) for r in rs],
            longitude_deg=[_nan(r.longitude_deg) for r in rs],
            vertical_rate_fpm=[_nan(r.vertical_rate_fpm) for r in rs],
            alert=flag_codes([r.alert for r in rs]),
            emergency=flag_codes([r.emergency for r in rs]),
            spi=flag_codes([r.spi for r in rs]),
            on_ground=flag_codes([r.on_ground for r in rs]),
            message_type=[r.message_type for r in rs], session_id=[r.session_id for r in rs],
            aircraft_id=[r.aircraft_id for r in rs], flight_id=[r.flight_id for r in rs],
        )
    except OverflowError:  # an id or number beyond 64 bits: one line at a time
        return "".join(format_sbs(r) + "\r\n" for r in rs).encode("ascii")


def _nan(v: float | None) -> float:
    if v is None:
        return math.nan
    try:
        return float(v)
    except OverflowError:
        return math.inf  # beyond the limit: written empty, as format_sbs does


def _parse_time(d: str, t: str) -> float | None:
    if not d or not t:
        return None
    try:
        frac = 0.0
        if "." in t:
            t, f = t.split(".", 1)
            frac = float("0." + f) if f else 0.0
        dt = datetime.strptime(f"{d} {t}", "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return dt.timestamp() + frac


def _opt_float(s: str) -> float | None:
    if not s:
        return None
    v = float(s)
    return v if math.isfinite(v) else None


def _opt_int(s: str) -> int | None:
    v = _opt_float(s)
    return None if v is None else round(v)


def _opt_flag(s: str) -> bool | None:
    if not s:
        return None
    return int(s) != 0


def parse_sbs_line(line: str | bytes) -> SbsRecord | str:
    """Parse one BaseStation line to a record, or a reason (``"not MSG"``, ``"bad field"``...).

    Only ``MSG`` lines carry aircraft data; other message types (``SEL``, ``ID``, ``AIR``, ``STA``,
    ``CLK``) are returned as the reason ``"not MSG"``.
    """
    if isinstance(line, bytes):
        try:
            line = line.decode("ascii")
        except UnicodeDecodeError:
            return "non-ascii"
    f = line.strip().split(",")
    if not f or not f[0]:
        return "empty"
    if f[0] != "MSG":
        return "not MSG"
    if len(f) < 10:
        return "short line"
    f += [""] * (22 - len(f))
    try:
        icao = f[4].strip().lower()
        if len(icao) != 6 or any(c not in "0123456789abcdef" for c in icao):
            return "bad address"
        t = _parse_time(f[6], f[7])
        logged = _parse_time(f[8], f[9])
        if t is None:
            t = logged
        if t is None:
            return "bad time"
        return SbsRecord(
            transmission_type=int(f[1]),
            icao24=icao,
            time_s=t,
            logged_time_s=logged,
            callsign=f[10].strip() or None,
            altitude_ft=_opt_int(f[11]),
            groundspeed_kt=_opt_float(f[12]),
            track_deg=_opt_float(f[13]),
            latitude_deg=_opt_float(f[14]),
            longitude_deg=_opt_float(f[15]),
            vertical_rate_fpm=_opt_int(f[16]),
            squawk=f[17].strip() or None,
            alert=_opt_flag(f[18]),
            emergency=_opt_flag(f[19]),
            spi=_opt_flag(f[20]),
            on_ground=_opt_flag(f[21]),
            session_id=int(f[2] or 1),
            aircraft_id=int(f[3] or 1),
            flight_id=int(f[5] or 1),
        )
    except ValueError:
        return "bad field"


def records_from_frames(batch: FrameBatch) -> list[SbsRecord]:
    """Stateless SBS records for frames (no positions: pairing CPR needs the tracker).

    DF17/18 identification → MSG,1; airborne velocity → MSG,4; DF4/20 altitude → MSG,5;
    DF5/21 identity → MSG,6; DF11 all-call → MSG,8. Frames that do not decode, fail CRC or carry
    nothing for SBS yield no record.
    """
    from overflight.modes import DecodeError, decode

    out: list[SbsRecord] = []
    now = time.time()
    for i in range(len(batch)):
        try:
            m = decode(batch.frame_bytes(i))
        except (DecodeError, ValueError):
            continue
        if m.crc_ok is False or m.icao24 is None:
            continue
        t = float(batch.time_s[i]) if math.isfinite(batch.time_s[i]) else now
        base = SbsRecord(8, m.icao24, t, now, on_ground=m.on_ground)
        if m.df in (17, 18):
            if m.callsign:
                out.append(replace(base, transmission_type=1, callsign=m.callsign))
            elif m.groundspeed_kt is not None or m.vertical_rate_fpm is not None:
                out.append(replace(
                    base, transmission_type=4, groundspeed_kt=m.groundspeed_kt,
                    track_deg=m.track_deg, vertical_rate_fpm=m.vertical_rate_fpm,
                ))
        elif m.df in (4, 20) and m.altitude_ft is not None:
            out.append(replace(
                base, transmission_type=5, altitude_ft=m.altitude_ft, alert=m.alert, spi=m.spi
            ))
        elif m.df in (5, 21) and m.squawk is not None:
            out.append(replace(
                base, transmission_type=6, squawk=m.squawk, alert=m.alert, spi=m.spi,
                emergency=m.squawk in ("7500", "7600", "7700"),
            ))
        elif m.df == 11:
            out.append(base)
    return out
