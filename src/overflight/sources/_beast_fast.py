# mypy: disable-error-code="no-untyped-def,unused-ignore"
"""One compiled pass over a clean Beast buffer (the common case: a receiver's or a recording's
bytes, every record well formed from the first byte).

:func:`scan` walks the records in order, unescaping as it goes, and writes the frames' columns.
It gives up (returns ``-1``) at the first thing that is not a plain record: a byte that is not a
record start where one is due, an unknown type, a frame start inside a record (a cut frame), or a
buffer that ends inside a record when no more bytes will come. The caller then parses the buffer
with the vectorised parser of :mod:`.beast`, which counts every anomaly; the results of both are
the same wherever this pass accepts a buffer (``tests/sources/test_beast_fast.py``).

Kept apart from :mod:`.beast` so that importing the Beast helpers does not import numba.
"""

from __future__ import annotations

import numpy as np

from overflight._numba_cache import numba  # numba, its cache folder configured

__all__ = ["encode", "scan"]

_ESC = 0x1A
# body length (unescaped, after the type byte) by type; 0: not handled here
_BODY = np.zeros(256, np.int64)
_BODY[0x31] = 6 + 1 + 2
_BODY[0x32] = 6 + 1 + 7
_BODY[0x33] = 6 + 1 + 14
_BODY[0x34] = 6 + 1 + 14
_BODY[0xE3] = 8
_BODY[0xE9] = 8
_BODY[0x50] = 3


@numba.njit(cache=True, nogil=True)
def _scan(buf, final, receiver, body_len, data, plen, ticks, sig, rx, rec_time, counts, status):
    """Returns the bytes consumed, or -1 where the buffer needs the full parser.

    ``counts``: frames, modeac, heartbeats, status, receiver_ids, time_records, pings,
    mlat_results, last receiver id (as int64 bits), status seen (0/1), receiver at the status.
    ``status``: the 14 payload bytes of the last status record."""
    n = buf.shape[0]
    i = 0
    nf = 0
    rid = np.uint64(receiver)
    pending_t = np.nan
    tmp = np.zeros(21, np.uint8)
    last_start = -1  # start of the last complete record
    last_typ = 0
    n_mac = 0
    n_hb = 0
    n_status = 0
    n_rid = 0
    n_time = 0
    n_ping = 0
    n_mlat = 0
    status_rx = np.uint64(receiver)
    while i < n:
        start = i
        if buf[i] != _ESC:
            return -1
        if i + 1 >= n:
            break  # a lone record start at the end: incomplete
        typ = buf[i + 1]
        if typ == _ESC:
            return -1
        blen = body_len[typ]
        if blen == 0:
            return -1
        j = i + 2
        k = 0
        cut = False
        while k < blen:
            if j >= n:
                cut = True
                break
            b = buf[j]
            if b == _ESC:
                if j + 1 >= n:
                    cut = True
                    break
                if buf[j + 1] != _ESC:
                    return -1  # a frame start inside the record
                j += 2
            else:
                j += 1
            tmp[k] = b
            k += 1
        if cut:
            i = start
            break
        i = j
        last_start = start
        last_typ = typ
        if typ == 0xE3 or typ == 0xE9:
            v = np.uint64(0)
            for q in range(8):
                v = (v << np.uint64(8)) | np.uint64(tmp[q])
            if typ == 0xE3:
                rid = v
                n_rid += 1
            else:
                pending_t = np.float64(np.int64(v)) / 1e6
                n_time += 1
            continue
        if typ == 0x50:
            n_ping += 1
            continue
        t = np.uint64(0)
        for q in range(6):
            t = (t << np.uint64(8)) | np.uint64(tmp[q])
        if typ == 0x34:
            n_status += 1
            for q in range(14):
                status[q] = tmp[7 + q]
            status_rx = rid
            continue
        pl = blen - 7
        if typ == 0x31 and t == 0 and tmp[7] == 0 and tmp[8] == 0:
            n_hb += 1
            continue
        for q in range(pl):
            data[nf, q] = tmp[7 + q]
        plen[nf] = pl
        ticks[nf] = t
        sig[nf] = tmp[6]
        rx[nf] = rid
        rec_time[nf] = pending_t
        pending_t = np.nan
        if typ == 0x31:
            n_mac += 1
        if t == np.uint64(0xFF004D4C4154):
            n_mlat += 1
        nf += 1
    consumed = i
    if i < n and final:
        return -1  # truncated last record: the full parser counts it
    if not final and last_typ == 0xE9:
        # a time record dates the next frame: one that ends the buffer waits for it
        consumed = last_start
        n_time -= 1
    counts[0] = nf
    counts[1] = n_mac
    counts[2] = n_hb
    counts[3] = n_status
    counts[4] = n_rid
    counts[5] = n_time
    counts[6] = n_ping
    counts[7] = n_mlat
    counts[8] = np.int64(rid)
    counts[9] = 1 if n_status > 0 else 0
    counts[10] = np.int64(status_rx)
    return consumed


def scan(buf: np.ndarray, final: bool, receiver: int):  # type: ignore[no-untyped-def]
    """Parse a clean buffer; None where it needs the full parser, else
    ``(consumed, data, plen, ticks, sig, rx, rec_time, counts, status)`` (frames' rows only)."""
    n = buf.shape[0]
    cap = n // 11 + 1
    data = np.zeros((cap, 14), np.uint8)
    plen = np.empty(cap, np.uint8)
    ticks = np.empty(cap, np.uint64)
    sig = np.empty(cap, np.uint8)
    rx = np.empty(cap, np.uint64)
    rec_time = np.empty(cap, np.float64)
    counts = np.zeros(11, np.int64)
    status = np.zeros(14, np.uint8)
    consumed = _scan(buf, final, np.uint64(receiver), _BODY, data, plen, ticks, sig, rx,
                     rec_time, counts, status)
    if consumed < 0:
        return None
    nf = int(counts[0])
    return (int(consumed), data[:nf], plen[:nf], ticks[:nf], sig[:nf], rx[:nf], rec_time[:nf],
            counts, status)


@numba.njit(cache=True, nogil=True, inline="always")
def _put(out, o, b):
    out[o] = b
    if b == _ESC:
        out[o + 1] = b
        return o + 2
    return o + 1


@numba.njit(cache=True, nogil=True)
def _encode(data, plen, typ, ticks, sig, rid, rid_before, us, time_before, out):
    """Records in row order, escaped: ``[0xe3 id][0xe9 time]`` frame; rows with type 0 skipped."""
    o = 0
    for i in range(typ.shape[0]):
        if typ[i] == 0:
            continue
        if rid_before[i]:
            out[o] = _ESC
            out[o + 1] = 0xE3
            o += 2
            for q in range(8):
                o = _put(out, o, np.uint8((rid[i] >> np.uint64(56 - 8 * q)) & np.uint64(0xFF)))
        if time_before[i]:
            out[o] = _ESC
            out[o + 1] = 0xE9
            o += 2
            for q in range(8):
                o = _put(out, o, np.uint8((us[i] >> np.uint64(56 - 8 * q)) & np.uint64(0xFF)))
        out[o] = _ESC
        out[o + 1] = typ[i]
        o += 2
        t = ticks[i]
        for q in range(6):
            o = _put(out, o, np.uint8((t >> np.uint64(40 - 8 * q)) & np.uint64(0xFF)))
        o = _put(out, o, sig[i])
        for q in range(plen[i]):
            o = _put(out, o, data[i, q])
    return o


def encode(data, plen, typ, ticks, sig, rid, rid_before, us, time_before) -> bytes:  # type: ignore[no-untyped-def]
    """Escaped Beast bytes of the rows (see :func:`overflight.sources.beast.encode_beast`)."""
    out = np.empty(typ.shape[0] * 2 * (23 + 10 + 10), np.uint8)
    o = _encode(data, plen, typ, ticks, sig, rid, rid_before, us, time_before, out)
    return out[:o].tobytes()
