# mypy: disable-error-code="no-untyped-def,unused-ignore"
"""Arrow column buffers to NumPy in one compiled pass (nulls filled, dtype converted).

Arrow keeps a column as a values buffer plus a validity bitmap (bit ``offset + i`` set where row
``i`` is not null). Reading both straight from the buffers (zero-copy) and writing the kernel's
dtype with a fill value for nulls costs one pass, where ``to_numpy`` + ``where`` + ``astype``
costs three or four plus temporaries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight._numba_cache import numba  # numba, its cache folder configured

__all__ = ["gather_bool", "gather_dictionary", "gather_values"]

_NO_BITMAP = np.zeros(1, np.uint8)


@numba.njit(cache=True, nogil=True)
def _values(values, bitmap, has_bitmap, offset, fill, out):  # type: ignore[no-untyped-def]
    n = out.shape[0]
    if has_bitmap:
        for i in range(n):
            j = offset + i
            if (bitmap[j >> 3] >> (j & 7)) & 1:
                out[i] = values[j]
            else:
                out[i] = fill
    else:
        for i in range(n):
            out[i] = values[offset + i]


@numba.njit(cache=True, nogil=True)
def _bits(bits, bitmap, has_bitmap, offset, fill, out):  # type: ignore[no-untyped-def]
    for i in range(out.shape[0]):
        j = offset + i
        if has_bitmap and not (bitmap[j >> 3] >> (j & 7)) & 1:
            out[i] = fill
        else:
            out[i] = (bits[j >> 3] >> (j & 7)) & 1


@numba.njit(cache=True, nogil=True)
def _lookup(indices, bitmap, has_bitmap, offset, lut, out):  # type: ignore[no-untyped-def]
    for i in range(out.shape[0]):
        j = offset + i
        if has_bitmap and not (bitmap[j >> 3] >> (j & 7)) & 1:
            out[i] = -1
        else:
            out[i] = lut[indices[j]]


def _bitmap(arr: pa.Array) -> tuple[npt.NDArray[np.uint8], bool]:
    buf = arr.buffers()[0]
    if buf is None or arr.null_count == 0:
        return _NO_BITMAP, False
    return np.frombuffer(buf, np.uint8), True


def gather_values(arr: pa.Array, dtype: npt.DTypeLike, fill: float) -> npt.NDArray[Any]:
    """A fixed-width numeric column as ``dtype``, ``fill`` for nulls."""
    n = len(arr)
    out = np.empty(n, dtype)
    if n == 0:
        return out
    bitmap, has = _bitmap(arr)
    vt = np.dtype(arr.type.to_pandas_dtype())
    values = np.frombuffer(arr.buffers()[1], vt, count=arr.offset + n)
    _values(values, bitmap, has, arr.offset, out.dtype.type(fill), out)
    return out


def gather_bool(arr: pa.Array, dtype: npt.DTypeLike, fill: int) -> npt.NDArray[Any]:
    """A boolean column as 0/1 of ``dtype``, ``fill`` for nulls."""
    n = len(arr)
    out = np.empty(n, dtype)
    if n == 0:
        return out
    bitmap, has = _bitmap(arr)
    bits = np.frombuffer(arr.buffers()[1], np.uint8)
    _bits(bits, bitmap, has, arr.offset, out.dtype.type(fill), out)
    return out


def gather_dictionary(arr: pa.DictionaryArray, lut: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``lut[index]`` of each row of a dictionary column (``lut``'s dtype), -1 for nulls."""
    n = len(arr)
    out = np.empty(n, lut.dtype)
    if n == 0:
        return out
    idx = arr.indices
    bitmap, has = _bitmap(idx)
    vt = np.dtype(idx.type.to_pandas_dtype())
    indices = np.frombuffer(idx.buffers()[1], vt, count=idx.offset + n)
    _lookup(indices, bitmap, has, idx.offset, lut, out)
    return out
