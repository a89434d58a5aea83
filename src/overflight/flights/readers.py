"""Readers: files of positions (or raw captures) -> :class:`PositionTable`.

Formats: the pandas JSON of trajectories-traffic (records or columns, optionally gzip), CSV and
Parquet of positions, readsb ``trace_full`` JSON, Flightradar24 flight JSON, rs1090 JSON lines
(decoded fields used as positions), and raw captures decoded by ``overflight.modes`` and tracked by
``overflight.tracking`` when those modules are available.

A gzip that breaks while it is read (truncated or corrupt) is read up to the fault
(:mod:`overflight.sources.gzipread`): :func:`read_file` gives the positions of the part before
it with the fault (``PositionsRead.broken``), never the cut last line; :func:`read_positions`
and the single-format readers raise the fault (``EOFError``, ``zlib.error``,
``gzip.BadGzipFile``), as :mod:`gzip` does.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from overflight.flights.table import PositionTable, from_arrow, from_columns

__all__ = [
    "FORMATS",
    "CaptureUnsupportedError",
    "PositionsRead",
    "read_capture",
    "read_file",
    "read_fr24",
    "read_jsonl_decoded",
    "read_positions",
    "read_readsb_trace",
    "read_traffic_json",
]


class CaptureUnsupportedError(RuntimeError):
    """Raised when a raw capture is given but the decoder or tracker cannot be imported."""


@dataclass(frozen=True, slots=True)
class PositionsRead:
    """What reading one file gave (:func:`read_file`).

    ``table``: the positions (of the part read before the fault when ``broken``).
    ``broken``: why the file ended early (``EOFError``: truncated gzip; ``zlib.error`` or
    ``gzip.BadGzipFile``: corrupt gzip), None when it was read whole.
    ``input_skipped``: for a capture, the input the frame reader skipped, by reason: lines by
    parse error (``cut by the broken input``: the cut last line) and Beast damage
    (``Beast bad frames``, ``Beast unknown types``, ``Beast garbage bytes``,
    ``Beast truncated bytes``); empty for positions files.
    """

    table: PositionTable
    broken: BaseException | None = None
    input_skipped: dict[str, int] = field(default_factory=dict)


_CONTENT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, LookupError, TypeError, AttributeError, RecursionError,
)
"""What a reader raises on content that is not what it expects (here: the cut part of a broken
file, e.g. a JSON document without its end)."""


def _empty() -> PositionTable:
    return from_columns({"icao24": np.zeros(0, dtype=np.uint32), "time_s": np.zeros(0)})


def _open(path: Path) -> IO[bytes]:
    """``path`` for reading, un-gzipped (by content): a broken gzip reads up to its fault."""
    from overflight.sources.gzipread import GZIP_MAGIC, GzipPrefixFile

    raw = open(path, "rb")  # noqa: SIM115 - returned (or wrapped) to the caller
    if raw.read(2) != GZIP_MAGIC:
        raw.seek(0)
        return raw
    raw.seek(0)
    return GzipPrefixFile(raw, close_source=True)


def _read_bytes(path: Path) -> tuple[bytes, BaseException | None]:
    """The file's bytes (un-gzipped) and its fault; a broken file's bytes end at its last whole
    line (the cut last line is never given to a parser)."""
    from overflight.sources.gzipread import read_prefix

    data, fault = read_prefix(path)
    if fault is not None:
        data = data[: data.rfind(b"\n") + 1]
    return data, fault


def _read_text(path: Path) -> tuple[str, BaseException | None]:
    data, fault = _read_bytes(path)
    return data.decode("utf-8"), fault


def _open_text(path: Path) -> str:
    """The whole text of ``path``; a broken gzip raises its fault."""
    text, fault = _read_text(path)
    if fault is not None:
        raise fault
    return text


def read_traffic_json(path: Path | str, obj: Any = None) -> PositionTable:
    """The pandas JSON of trajectories-traffic: ``records`` or ``columns`` orientation.

    Addresses are kept as text (pandas would turn ``3946e4`` into a number).
    """
    data = obj if obj is not None else json.loads(_open_text(Path(path)))
    return _traffic_table(data, path)


def _traffic_table(data: Any, path: Path | str) -> PositionTable:
    cols: dict[str, Any] = {}
    if isinstance(data, list):
        keys: dict[str, None] = {}
        for row in data:
            if isinstance(row, dict):
                keys.update(dict.fromkeys(row))
        rows = [r for r in data if isinstance(r, dict)]
        for k in keys:
            cols[k] = np.array([r.get(k) for r in rows], dtype=object)
    elif isinstance(data, dict):
        index: list[str] | None = None
        for k, v in data.items():
            if not isinstance(v, dict):
                continue
            if index is None:
                index = sorted(v, key=lambda s: int(s) if s.isdigit() else 0)
            cols[k] = np.array([v.get(i) for i in index], dtype=object)
    else:
        raise ValueError(f"{path}: not a pandas JSON table")
    if "icao24" in cols:
        cols["icao24"] = np.array(
            # pandas may write a hex address like 484506 as a JSON number: it is still hex text.
            ["" if v is None else str(v) for v in cols["icao24"]],
            dtype=object,
        )
    if "timestamp" in cols:
        cols["timestamp"] = cols["timestamp"].astype(np.float64)
    return from_columns(cols, time_unit_s=1e-3 if "timestamp" in cols else None)


def read_readsb_trace(path: Path | str) -> PositionTable:
    """readsb / tar1090 ``trace_full_<hex>.json``: base ``timestamp`` plus ``trace[]`` rows."""
    return _readsb_table(_open_text(Path(path)))


def _readsb_table(text: str) -> PositionTable:
    d = json.loads(text)
    base = float(d["timestamp"])
    trace = [r for r in d.get("trace", []) if isinstance(r, list) and len(r) >= 8]
    n = len(trace)
    alt = np.full(n, np.nan)
    ground = np.zeros(n, dtype=np.int8)
    callsign = np.empty(n, dtype=object)
    last_cs: str | None = None
    for i, r in enumerate(trace):
        a = r[3]
        if a == "ground":
            ground[i] = 1
        elif isinstance(a, int | float):
            alt[i] = float(a)
        det = r[8] if len(r) > 8 else None
        if isinstance(det, dict) and det.get("flight"):
            last_cs = str(det["flight"]).strip()
        callsign[i] = last_cs
    cols = {
        "icao24": np.array([str(d.get("icao", "")).lstrip("~")] * n, dtype=object),
        "time_s": base + np.array([float(r[0]) for r in trace]),
        "lat_deg": np.array([r[1] for r in trace], dtype=object),
        "lon_deg": np.array([r[2] for r in trace], dtype=object),
        "altitude_ft": alt,
        "groundspeed_kt": np.array([r[4] for r in trace], dtype=object),
        "track_deg": np.array([r[5] for r in trace], dtype=object),
        "vertical_rate_fpm": np.array([r[7] for r in trace], dtype=object),
        "on_ground": ground,
        "callsign": callsign,
    }
    return from_columns(cols, time_unit_s=1.0)


def read_fr24(path: Path | str) -> PositionTable:
    """Flightradar24 flight-details JSON (``result.response.data.flight.track[]``)."""
    return _fr24_table(_open_text(Path(path)))


def _fr24_table(text: str) -> PositionTable:
    d = json.loads(text)
    f = d["result"]["response"]["data"]["flight"]
    ident = (f.get("aircraft") or {}).get("identification") or {}
    hexa = str(ident.get("modes") or "")
    cs = (f.get("identification") or {}).get("callsign")
    track = [p for p in f.get("track") or [] if isinstance(p, dict)]
    n = len(track)

    def sub(p: dict[str, Any], k: str, unit: str) -> Any:
        v = p.get(k)
        return v.get(unit) if isinstance(v, dict) else v

    alt = np.array([sub(p, "altitude", "feet") for p in track], dtype=object).astype(np.float64)
    gs = np.array([sub(p, "speed", "kts") for p in track], dtype=object).astype(np.float64)
    cols = {
        "icao24": np.array([hexa] * n, dtype=object),
        "time_s": np.array([p.get("timestamp") for p in track], dtype=object),
        "lat_deg": np.array([p.get("latitude") for p in track], dtype=object),
        "lon_deg": np.array([p.get("longitude") for p in track], dtype=object),
        "altitude_ft": alt,
        "groundspeed_kt": gs,
        "track_deg": np.array([p.get("heading") for p in track], dtype=object),
        "vertical_rate_fpm": np.array(
            [sub(p, "verticalSpeed", "fpm") for p in track], dtype=object
        ),
        "callsign": np.array([cs] * n, dtype=object),
    }
    return from_columns(cols, time_unit_s=1.0)


def read_jsonl_decoded(path: Path | str) -> PositionTable:
    """JSON lines with decoded fields (rs1090 / jet1090 style): one row per position message.

    Surface positions (BDS 0,6) set ``on_ground``; airborne positions (BDS 0,5) clear it.
    Altitude, speed and callsign from other messages are carried forward per aircraft.
    """
    return _decoded_table(_open_text(Path(path)))


def _decoded_table(text: str) -> PositionTable:
    rows: list[tuple[Any, ...]] = []
    last: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        try:
            m = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(m, dict):
            continue
        ic = m.get("icao24")
        if not isinstance(ic, str):
            continue
        st = last.setdefault(ic, {})
        for k in ("altitude", "groundspeed", "track", "vertical_rate", "callsign"):
            if m.get(k) is not None:
                st[k] = m[k]
        lat, lon = m.get("latitude"), m.get("longitude")
        if lat is None or lon is None:
            continue
        bds = str(m.get("bds", ""))
        ground = 1 if bds == "06" else (0 if bds == "05" else -1)
        rows.append(
            (
                ic,
                m.get("timestamp"),
                lat,
                lon,
                None if ground == 1 else st.get("altitude"),
                st.get("groundspeed"),
                st.get("track"),
                st.get("vertical_rate"),
                ground,
                st.get("callsign"),
            )
        )
    names = (
        "icao24",
        "time_s",
        "lat_deg",
        "lon_deg",
        "altitude_ft",
        "groundspeed_kt",
        "track_deg",
        "vertical_rate_fpm",
        "on_ground",
        "callsign",
    )
    cols = {k: np.array([r[i] for r in rows], dtype=object) for i, k in enumerate(names)}
    cols["on_ground"] = np.array([r[8] for r in rows], dtype=np.int8)
    return from_columns(cols, time_unit_s=1.0)


def receivers_beside(path: Path | str) -> Path | None:
    """The receivers table written beside a capture (``demo.beast`` -> ``demo.receivers.csv``,
    as ``overflight sim`` writes them), if there is one."""
    p = Path(path)
    for cand in (p.with_suffix(".receivers.csv"), p.parent / f"{p.name}.receivers.csv"):
        if cand.is_file():
            return cand
    return None


def read_capture(
    path: Path | str,
    receiver_lat_lon: tuple[float, float] | None = None,
    start_time_s: float | None = None,
    receivers_csv: Path | str | None = None,
) -> PositionsRead:
    """A raw capture (any format of ``overflight.sources.files``: Beast, AVR, hex, CSV or JSON lines
    with a ``frame`` field), run through the station (decoded, tracked, and multilaterated with
    ``receivers_csv`` — by default the receivers table beside the capture, see
    :func:`receivers_beside` — so Mode S-only aircraft have MLAT positions).

    Only the frames are used (decoded fields already present in JSON lines are ignored). Positions
    are the tracker's accepted positions (``POSITIONS_SCHEMA``, ADS-B and MLAT); ``input_skipped``
    counts the input the frame reader skipped; a broken gzip gives the positions of the frames
    before its fault and the fault (``broken``). Raises :class:`CaptureUnsupportedError` when
    those modules cannot be imported.
    """
    try:
        station_mod = importlib.import_module("overflight.station")
    except ImportError as exc:  # pragma: no cover - depends on sibling modules
        raise CaptureUnsupportedError(
            f"capture input needs overflight.station: {exc}"
        ) from exc
    parts: list[pa.Table] = []
    rx = receivers_csv if receivers_csv is not None else receivers_beside(path)
    station = station_mod.Station(station_mod.StationConfig(
        receiver_lat_lon=receiver_lat_lon, receivers_csv=Path(rx) if rx else None,
        flights=False, identify=False,
    ))
    station.subscribe(lambda u: parts.append(u.table), kinds=("positions",), inline=True)
    failure: list[BaseException] = []
    reader = station.run_file(path, start_time_s=start_time_s, failure=failure)
    if failure and failure[0] is not reader.fault:
        raise failure[0]
    skipped = _input_skipped(reader.stats)
    if not parts:
        return PositionsRead(_empty(), reader.fault, skipped)
    positions = pa.concat_tables(parts)
    # ``address`` is the 24-bit address as uint32 (``icao24`` is its text form).
    keep = [c for c in positions.column_names
            if c not in ("icao24", "non_icao", "frame_seq", "pair_frame_seq")]
    renamed = ["icao24" if c == "address" else c for c in keep]
    tab = from_arrow(positions.select(keep).rename_columns(renamed))
    return PositionsRead(tab, reader.fault, skipped)


def _input_skipped(stats: Any) -> dict[str, int]:
    """What the frame reader skipped, by reason (the fault itself is ``broken``, not here)."""
    out = {k: int(v) for k, v in sorted(stats.skipped.items())
           if v and k not in ("empty", "header") and not k.startswith("broken input")}
    if stats.format == "beast":
        b = stats.beast
        for label, v in (("bad frames", b.bad_frames), ("unknown types", b.unknown_types),
                         ("garbage bytes", b.garbage_bytes),
                         ("truncated bytes", b.truncated_bytes)):
            if v:
                out[f"Beast {label}"] = int(v)
    return out


FORMATS = ("auto", "capture", "decoded", "traffic", "readsb", "fr24", "csv", "parquet")
"""Values of ``read_positions(fmt=...)``: ``capture`` decodes raw frames (any format of
``overflight.sources``); ``decoded`` reads rs1090/jet1090 JSON lines by their decoded fields."""


def _sniff_json(text: str) -> str:
    head = text.lstrip()[:4096]
    if head.startswith("{") and '"trace"' in text[:200_000] and '"icao"' in head:
        return "readsb"
    if head.startswith("{") and '"result"' in head[:200]:
        return "fr24"
    first = head.split("\n", 1)[0]
    if first.startswith("{") and first.rstrip().endswith("}"):
        if '"frame"' in first or '"rawmsg"' in first:
            return "capture"
        if '"latitude"' in text[:200_000] and '"icao24"' in first:
            return "decoded"
    return "traffic"


def _is_position_csv(path: Path) -> bool:
    with _open(path) as fh:
        header = fh.readline().decode("utf-8", errors="replace").lower()
    names = {c.strip().strip('"') for c in header.replace(";", ",").split(",")}
    has_time = bool(names & {"time_s", "time", "timestamp"})
    has_pos = bool(names & {"lat_deg", "latitude", "lat"})
    return has_time and has_pos


def _read_csv(path: Path) -> PositionsRead:
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if not gz:  # plain CSV: pyarrow reads the file itself (no decompression by file name)
        return PositionsRead(from_arrow(pacsv.read_csv(pa.OSFile(str(path)))))
    data, broken = _read_bytes(path)
    return _parsed(lambda: from_arrow(pacsv.read_csv(pa.BufferReader(data))), broken)


def _parsed(parse: Callable[[], PositionTable], broken: BaseException | None) -> PositionsRead:
    """``parse()``'s table; for a broken file whose part before the fault does not parse (a
    JSON document without its end), no positions and the fault."""
    try:
        return PositionsRead(parse(), broken)
    except _CONTENT_ERRORS:
        if broken is None:
            raise
        return PositionsRead(_empty(), broken)


def _head_text(path: Path, n: int = 200_000) -> str:
    with _open(path) as f:
        return f.read(n).decode("utf-8", errors="replace")


_TEXT_READERS: dict[str, Callable[[str], PositionTable]] = {
    "decoded": _decoded_table,
    "readsb": _readsb_table,
    "fr24": _fr24_table,
}


def read_file(path: Path | str, fmt: str = "auto") -> PositionsRead:
    """Read any supported file, choosing the format from its name and content (``fmt="auto"``)
    or as ``fmt`` says (one of :data:`FORMATS`); a broken gzip is read up to its fault.

    Returns the positions, the fault that ended the file early (``broken``, None when whole) and
    for a capture the input skipped (:class:`PositionsRead`). Content that is not what the format
    expects raises (``ValueError`` and the like), I/O errors raise ``OSError``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    p = Path(path)
    name = p.name.lower()
    if fmt == "auto":
        if name.endswith((".parquet", ".pq")):
            fmt = "parquet"
        elif name.endswith((".csv", ".csv.gz")):
            fmt = "csv" if _is_position_csv(p) else "capture"
        elif name.endswith((".json", ".json.gz", ".jsonl", ".jsonl.gz")):
            fmt = _sniff_json(_head_text(p))
        else:
            fmt = "capture"
    if fmt == "capture":
        return read_capture(p)
    if fmt == "parquet":
        return PositionsRead(from_arrow(pq.read_table(p)))
    if fmt == "csv":
        return _read_csv(p)
    text, broken = _read_text(p)
    if fmt == "traffic":
        return _parsed(lambda: _traffic_table(json.loads(text), p), broken)
    return _parsed(lambda: _TEXT_READERS[fmt](text), broken)


def read_positions(path: Path | str, fmt: str = "auto") -> PositionTable:
    """Read any supported file, choosing the format from its name and content (``fmt="auto"``)
    or as ``fmt`` says (one of :data:`FORMATS`).

    A file that breaks while it is read (truncated or corrupt gzip) raises its fault
    (``EOFError``, ``zlib.error``, ``gzip.BadGzipFile``): :func:`read_file` gives the positions
    before it."""
    res = read_file(path, fmt)
    if res.broken is not None:
        raise res.broken
    return res.table
