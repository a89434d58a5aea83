# mypy: disable-error-code="no-untyped-def,unused-ignore"
"""One compiled pass writing SBS BaseStation lines from columns into a byte buffer.

:func:`write` formats every row the way ``sources.sbs.format_sbs`` formats one record: times
as ``datetime.fromtimestamp`` rounds them (microseconds rounded half to even, then truncated to
milliseconds), fixed-point numbers correctly rounded (half to even on the exact binary value, as
Python's ``f"{v:.5f}"``: the product ``v * 10**d`` is carried with its rounding error, Dekker's
two-product), whole numbers as ``str(round(v))``. ``tests/sources/test_sbs_columns.py`` checks
the bytes against ``format_sbs`` on the real captures and on random records.

Kept apart from :mod:`.sbs` so that parsing SBS lines does not import numba.
"""

from __future__ import annotations

import math

import numpy as np

from overflight._numba_cache import numba  # numba, its cache folder configured

__all__ = ["LINE_BYTES", "NUMBER_LIMIT", "write"]

NUMBER_LIMIT = 1e10
"""Numbers at or beyond this magnitude are written empty (no real SBS value comes near; below
it ``|v| * 10**5 < 2**52``, where the rounding here is exact)."""
LINE_BYTES = 340
"""Upper bound of a line's bytes, its four string fields apart."""

_NON_ICAO = 1 << 24
_HEX = np.frombuffer(b"0123456789ABCDEF", np.uint8).copy()
# digits after the point of the numeric fields: altitude, ground speed, track, lat, lon, vrate
DIGITS = np.array([0, 1, 1, 5, 5, 0], np.int64)
_SCALE = 10.0 ** np.arange(8)  # not pow() per number
_UNIT = 10 ** np.arange(8, dtype=np.int64)
_MIN_S = -62135596800.0  # 0001-01-01T00:00:00Z
_MAX_S = 253402300800.0  # 10000-01-01T00:00:00Z


@numba.njit(cache=True, nogil=True, inline="always")
def _half_even(x):
    f = math.floor(x)
    d = x - f  # exact: the fraction of a double is a double
    if d > 0.5:
        return f + 1.0
    if d < 0.5:
        return f
    return f + 1.0 if f - 2.0 * math.floor(f / 2.0) != 0.0 else f


@numba.njit(cache=True, nogil=True, inline="always")
def _split(a):
    c = 134217729.0 * a  # 2**27 + 1
    hi = c - (c - a)
    return hi, a - hi


@numba.njit(cache=True, nogil=True, inline="always")
def _round_scaled(a, scale):
    """round(a * scale), half to even on the exact product (a >= 0, a * scale < 2**52)."""
    p = a * scale
    f = math.floor(p)
    t = (p - f) - 0.5  # exact
    if abs(t) > p * 2.3e-16:  # farther from a tie than the product's error (<= p * 2**-53)
        return f + 1.0 if t > 0.0 else f
    ah, al = _split(a)
    bh, bl = _split(scale)
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # a * scale == p + err exactly
    if t > -err:
        return f + 1.0
    if t < -err:
        return f
    return f + 1.0 if f - 2.0 * math.floor(f / 2.0) != 0.0 else f


@numba.njit(cache=True, nogil=True, inline="always")
def _put_uint(out, pos, v):
    """Decimal digits of ``v`` (>= 0); returns the next position."""
    if v < 10:
        out[pos] = 48 + v
        return pos + 1
    k = 1
    x = v // 10
    while x > 0:
        k += 1
        x //= 10
    p = pos + k
    x = v
    for _ in range(k):
        p -= 1
        out[p] = 48 + x % 10
        x //= 10
    return pos + k


@numba.njit(cache=True, nogil=True, inline="always")
def _put_int(out, pos, v):
    if v < 0:
        out[pos] = 45
        return _put_uint(out, pos + 1, -v)
    return _put_uint(out, pos, v)


@numba.njit(cache=True, nogil=True, inline="always")
def _put_padded(out, pos, v, width):
    for j in range(width - 1, -1, -1):
        out[pos + j] = 48 + v % 10
        v //= 10
    return pos + width


@numba.njit(cache=True, nogil=True, inline="always")
def _put_number(out, pos, v, digits):
    """``str(round(v))`` (digits 0) or ``f"{v:.{digits}f}"``; nothing for NaN / huge."""
    if not (abs(v) < NUMBER_LIMIT):
        return pos
    if digits == 0:
        r = _half_even(v)
        if r < 0.0:
            out[pos] = 45
            pos += 1
        return _put_uint(out, pos, np.int64(abs(r)))
    r = np.int64(_round_scaled(abs(v), _SCALE[digits]))
    if math.copysign(1.0, v) < 0.0:
        out[pos] = 45
        pos += 1
    unit = _UNIT[digits]
    pos = _put_uint(out, pos, r // unit)
    out[pos] = 46
    return _put_padded(out, pos + 1, r % unit, digits)


@numba.njit(cache=True, nogil=True, inline="always")
def _put_time(out, pos, t, last, prefix):
    """``YYYY/MM/DD,HH:MM:SS.mmm`` of UTC epoch seconds ``t`` (a lone comma when not a date).
    ``last[0]`` / ``prefix``: the whole second last written and its 19 bytes (a batch's
    lines share few seconds)."""
    if not (_MIN_S <= t < _MAX_S):
        out[pos] = 44
        return pos + 1
    ip = float(math.trunc(t))
    us = _half_even((t - ip) * 1e6)
    if us >= 1e6:
        us -= 1e6
        ip += 1.0
    elif us < 0.0:
        us += 1e6
        ip -= 1.0
    if not (_MIN_S <= ip < _MAX_S):
        out[pos] = 44
        return pos + 1
    if ip != last[0]:
        last[0] = ip
        secs = np.int64(ip)
        days = secs // 86400
        sod = secs - days * 86400
        # civil date from days since 1970-01-01 (H. Hinnant's algorithm)
        z = days + 719468
        era = z // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        day = doy - (153 * mp + 2) // 5 + 1
        month = mp + 3 if mp < 10 else mp - 9
        year = yoe + era * 400 + (1 if month <= 2 else 0)
        p = _put_padded(prefix, 0, year, 4)
        prefix[p] = 47
        p = _put_padded(prefix, p + 1, month, 2)
        prefix[p] = 47
        p = _put_padded(prefix, p + 1, day, 2)
        prefix[p] = 44
        p = _put_padded(prefix, p + 1, sod // 3600, 2)
        prefix[p] = 58
        p = _put_padded(prefix, p + 1, (sod // 60) % 60, 2)
        prefix[p] = 58
        p = _put_padded(prefix, p + 1, sod % 60, 2)
        prefix[p] = 46
    for j in range(20):
        out[pos + j] = prefix[j]
    return _put_padded(out, pos + 20, np.int64(us) // 1000, 3)


@numba.njit(cache=True, nogil=True, inline="always")
def _put_string(out, pos, code, strings, lengths):
    if code >= 0:
        for j in range(lengths[code]):
            out[pos + j] = strings[code, j]
        pos += lengths[code]
    return pos


@numba.njit(cache=True, nogil=True, inline="always")
def _put_flag(out, pos, f):
    if f > 0:
        out[pos] = 45
        out[pos + 1] = 49
        return pos + 2
    if f == 0:
        out[pos] = 48
        return pos + 1
    return pos


@numba.njit(cache=True, nogil=True)
def write(out, ints, codes, strings, lengths, address, times, numbers, digits, flags):
    """Write the lines (``\\r\\n`` after each) into ``out``; returns the bytes written.

    Per row: ``ints`` (4, n) int64: transmission type, session, aircraft, flight ids;
    ``codes`` (4, n) int32 into ``strings`` (k, w) uint8 / ``lengths`` (k,): message type,
    hex address (used where ``address`` < 0), callsign, squawk; -1 is empty. ``address`` (n,)
    int64: the 24-bit address, bit 24 set for a non-ICAO one (written ``~HEX``). ``times``
    (2, n) float64: generated and logged UTC epoch seconds. ``numbers`` (6, n) float64, NaN
    empty: altitude, ground speed, track, latitude, longitude, vertical rate, with ``digits``
    (6,) after the point. ``flags`` (4, n) int8, 1 true, 0 false, -1 empty: alert, emergency,
    SPI, on ground."""
    n = ints.shape[1]
    pos = 0
    last = np.full(1, np.nan)
    prefix = np.zeros(20, np.uint8)
    for i in range(n):
        pos = _put_string(out, pos, codes[0, i], strings, lengths)
        for k in range(3):
            out[pos] = 44
            pos = _put_int(out, pos + 1, ints[k, i])
        out[pos] = 44
        pos += 1
        a = address[i]
        if a >= 0:
            if a & _NON_ICAO:
                out[pos] = 126
                pos += 1
            for j in range(6):
                out[pos + j] = _HEX[(a >> (20 - 4 * j)) & 0xF]
            pos += 6
        else:
            pos = _put_string(out, pos, codes[1, i], strings, lengths)
        out[pos] = 44
        pos = _put_int(out, pos + 1, ints[3, i])
        out[pos] = 44
        start = pos + 1
        pos = _put_time(out, start, times[0, i], last, prefix)
        out[pos] = 44
        if times[1, i] == times[0, i]:  # logged when generated: the same bytes again
            for j in range(pos - start):
                out[pos + 1 + j] = out[start + j]
            pos += 1 + pos - start
        else:
            pos = _put_time(out, pos + 1, times[1, i], last, prefix)
        out[pos] = 44
        pos = _put_string(out, pos + 1, codes[2, i], strings, lengths)
        for k in range(6):
            out[pos] = 44
            pos = _put_number(out, pos + 1, numbers[k, i], digits[k])
        out[pos] = 44
        pos = _put_string(out, pos + 1, codes[3, i], strings, lengths)
        for k in range(4):
            out[pos] = 44
            pos = _put_flag(out, pos + 1, flags[k, i])
        out[pos] = 13
        out[pos + 1] = 10
        pos += 2
    return pos
