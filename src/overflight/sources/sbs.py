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
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from overflight.frames import FrameBatch

__all__ = ["SbsRecord", "format_sbs", "parse_sbs_line", "records_from_frames"]


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


def _fmt_time(t: float) -> tuple[str, str]:
    d = datetime.fromtimestamp(t, UTC)
    return d.strftime("%Y/%m/%d"), d.strftime("%H:%M:%S.") + f"{d.microsecond // 1000:03d}"


def _num(v: float | None, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:.{digits}f}" if digits else str(round(v))


def _flag(v: bool | None) -> str:
    return "" if v is None else ("-1" if v else "0")


def format_sbs(r: SbsRecord) -> str:
    """One BaseStation line (without line ending)."""
    gd, gt = _fmt_time(r.time_s)
    ld, lt = _fmt_time(r.logged_time_s if r.logged_time_s is not None else r.time_s)
    fields = [
        r.message_type, str(r.transmission_type), str(r.session_id), str(r.aircraft_id),
        r.icao24.upper(), str(r.flight_id), gd, gt, ld, lt,
        r.callsign or "", _num(r.altitude_ft, 0), _num(r.groundspeed_kt, 1), _num(r.track_deg, 1),
        _num(r.latitude_deg, 5), _num(r.longitude_deg, 5), _num(r.vertical_rate_fpm, 0),
        r.squawk or "", _flag(r.alert), _flag(r.emergency), _flag(r.spi), _flag(r.on_ground),
    ]
    return ",".join(fields)


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
