"""Real frames for the tracking tests, decoded into the decoder contract's columns.

Uses ``overflight.modes.decode_batch`` when it exists; otherwise an independent decode by
pyModeS mapped onto the same column names (so the tracker is tested against the contract).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from overflight.frames import FrameBatch


def cut_hex(frame: str) -> str:
    """Cut a 28-digit record to 14 digits where the DF says the frame is short."""
    return frame[:14] if (int(frame[:2], 16) >> 3) < 16 else frame


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh]


def batch_from_hex(frames: list[str], times: list[float] | np.ndarray) -> FrameBatch:
    return FrameBatch.from_bytes([bytes.fromhex(f) for f in frames], time_s=np.asarray(times))


def decode(batch: FrameBatch) -> pa.Table:
    """``decode_batch`` if present, else the pyModeS stand-in."""
    try:
        from overflight.modes import decode_batch  # type: ignore[attr-defined]
    except ImportError:
        return pymodes_table(batch)
    return decode_batch(batch)  # type: ignore[no-any-return]


_TC_CAT = {1: "D", 2: "C", 3: "B", 4: "A"}


def pymodes_table(batch: FrameBatch) -> pa.Table:
    """Decode with pyModeS into contract columns (subset the tracker reads)."""
    import pyModeS as pms  # noqa: N813

    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "time_s",
            "df",
            "address",
            "icao24",
            "valid",
            "crc_ok",
            "address_from_parity",
            "non_icao",
            "source",
            "on_ground",
            "altitude_ft",
            "altitude_gnss_ft",
            "squawk",
            "typecode",
            "category",
            "callsign",
            "cpr_odd",
            "cpr_lat",
            "cpr_lon",
            "surface",
            "groundspeed_kt",
            "track_deg",
            "vertical_rate_fpm",
            "vertical_rate_source",
            "gnss_baro_diff_ft",
            "emergency_state",
            "selected_altitude_ft",
            "selected_heading_deg",
            "receiver",
            "signal_dbfs",
        )
    }
    for i in range(len(batch)):
        d: dict[str, Any] = dict(pms.decode(batch.frame_hex(i)))
        df = d.get("df")
        icao = d.get("icao")
        parity = df in (0, 4, 5, 16, 20, 21)
        ok = bool(icao) and (parity or df == 11 or d.get("crc_valid") is True)
        tc = d.get("typecode") or 0
        fs = d.get("flight_status")
        cap = d.get("capability")
        on_ground = None
        if fs in (1, 3) or cap == 4:
            on_ground = True
        elif fs in (0, 2) or cap == 5:
            on_ground = False
        cat = None
        if df in (17, 18) and 1 <= tc <= 4 and d.get("category") is not None:
            cat = f"{_TC_CAT[tc]}{d['category']}"
        row = {
            "time_s": float(batch.time_s[i]),
            "df": df,
            "address": int(icao, 16) if icao else None,
            "icao24": icao.lower() if icao else None,
            "valid": ok,
            "crc_ok": ok,
            "address_from_parity": parity,
            "non_icao": False,
            "source": "adsb" if df in (17, 18) else "modes",
            "on_ground": on_ground,
            "altitude_ft": d.get("altitude") if 9 <= tc <= 18 or df in (0, 4, 16, 20) else None,
            "altitude_gnss_ft": d.get("altitude") if 20 <= tc <= 22 else None,
            "squawk": d.get("squawk"),
            "typecode": tc or None,
            "category": cat,
            "callsign": (d.get("callsign") or "").strip("_ ") or None,
            "cpr_odd": d.get("cpr_format") == 1 if "cpr_format" in d else None,
            "cpr_lat": d.get("cpr_lat"),
            "cpr_lon": d.get("cpr_lon"),
            "surface": (5 <= tc <= 8) if "cpr_lat" in d else None,
            "groundspeed_kt": d.get("groundspeed"),
            "track_deg": d.get("track"),
            "vertical_rate_fpm": d.get("vertical_rate"),
            "vertical_rate_source": (d.get("vr_source") or "").lower() or None,
            "gnss_baro_diff_ft": d.get("geo_minus_baro"),
            "emergency_state": d.get("emergency_state"),
            "selected_altitude_ft": d.get("selected_altitude_mcp"),
            "selected_heading_deg": d.get("selected_heading"),
            "receiver": int(batch.receiver[i]),
            "signal_dbfs": float(batch.signal_dbfs[i]),
        }
        if row["altitude_ft"] is not None and df in (17, 18) and not (9 <= tc <= 18):
            row["altitude_ft"] = None
        for k, v in row.items():
            cols[k].append(v)
    types = {
        "address": pa.uint32(),
        "df": pa.uint8(),
        "time_s": pa.float64(),
        "altitude_ft": pa.float64(),
        "altitude_gnss_ft": pa.float64(),
        "groundspeed_kt": pa.float64(),
        "track_deg": pa.float64(),
        "vertical_rate_fpm": pa.float64(),
        "gnss_baro_diff_ft": pa.float64(),
        "selected_altitude_ft": pa.float64(),
        "selected_heading_deg": pa.float64(),
        "cpr_lat": pa.int32(),
        "cpr_lon": pa.int32(),
        "typecode": pa.uint8(),
        "receiver": pa.uint64(),
        "signal_dbfs": pa.float32(),
    }
    return pa.table({k: pa.array(v, type=types.get(k)) for k, v in cols.items()})


def with_me_bit(frame: str, me_bit: int) -> str:
    """A DF17/18 ``frame`` with ME bit ``me_bit`` (1-56) flipped and its parity recomputed."""
    from overflight.modes.crc import crc24

    raw = bytearray.fromhex(frame)
    raw[4 + (me_bit - 1) // 8] ^= 0x80 >> ((me_bit - 1) % 8)
    body = bytes(raw[:11])
    return (body + crc24(body).to_bytes(3, "big")).hex()
