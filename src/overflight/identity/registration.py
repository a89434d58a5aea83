"""Registrations that follow from the ICAO address by algorithm (used when the registry is silent).

Some States allocate addresses in registration order, so the registration can be computed:

* United States: N-numbers, A00001-ADF7C7, in the FAA's ordering (``N1``, ``N1A``, ``N1AA`` ...,
  ``N10``, ...; letters without I and O, at most two trailing letters, at most five characters).
  :func:`address_from_n_number` is the inverse.
* Japan (JA + four characters), South Korea (HL + four hex-looking digits), Russia's numeric block,
  and the three-letter suffix blocks of several States (stride tables: a major step per first
  letter, a minor step per second letter), e.g. Canada C-Fxxx / C-Gxxx, France F-Gxxx / F-Hxxx,
  Germany D-xxxx.

The patterns were worked out by the community from the registries (tar1090's registrations.js is the
best-known collection); this is our implementation, checked against the tar1090 database in the
tests.
A derived registration is a guess from the address, never evidence: callers mark it ``derived``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

__all__ = [
    "LetterBlock",
    "address_from_n_number",
    "derivable_mask",
    "derive_registration",
    "n_number",
]

_LETTERS24 = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
_LETTERS26 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# ---------------------------------------------------------------- United States
_N_FIRST = 0xA00001
_N_LETTERS_MAX = 24 + 24 * 24  # one or two trailing letters: 600 suffixes
# _N_SPAN[d]: registrations whose digit part starts with a given d-digit prefix (itself included).
_N_SPAN = {5: 1}
_N_SPAN[4] = 1 + 24 + 10 * _N_SPAN[5]  # only one letter fits after four digits
for _d in (3, 2, 1):
    _N_SPAN[_d] = 1 + _N_LETTERS_MAX + 10 * _N_SPAN[_d + 1]
_N_COUNT = 9 * _N_SPAN[1]  # 915,399: A00001 .. ADF7C7


def _letters(offset: int, two: bool) -> str:
    """Letter suffix for ``offset`` (0 = none) in the order A, AA, AB .. AZ, B, BA .. (or A..Z)."""
    if offset == 0:
        return ""
    k = offset - 1
    if not two:
        return _LETTERS24[k]
    first, rest = divmod(k, 25)
    return _LETTERS24[first] + (_LETTERS24[rest - 1] if rest else "")


def n_number(address: int) -> str | None:
    """US N-number of a civil address in A00001-ADF7C7, else ``None``."""
    offset = address - _N_FIRST
    if not 0 <= offset < _N_COUNT:
        return None
    digit, offset = divmod(offset, _N_SPAN[1])
    reg = "N" + str(digit + 1)
    for d in (1, 2, 3, 4):
        letters_here = _N_LETTERS_MAX if d < 4 else 24
        if offset <= letters_here:
            return reg + _letters(offset, two=d < 4)
        offset -= letters_here + 1
        digit, offset = divmod(offset, _N_SPAN[d + 1])
        reg += str(digit)
    return reg  # five digits: offset is 0 here


def address_from_n_number(registration: str) -> int | None:
    """Inverse of :func:`n_number`: the address of a US N-number, or ``None`` if not well formed."""
    reg = registration.strip().upper()
    if not reg.startswith("N"):
        return None
    body = reg[1:]
    digits = body[: len(body) - len(body.lstrip("0123456789"))]
    letters = body[len(digits) :]
    if not digits or digits[0] == "0" or len(body) > 5 or len(letters) > 2:
        return None
    if any(c not in _LETTERS24 for c in letters) or (len(digits) == 4 and len(letters) > 1):
        return None
    return _n_offset(digits, letters)


def _n_offset(digits: str, letters: str) -> int:
    offset = (int(digits[0]) - 1) * _N_SPAN[1]
    for d in range(1, len(digits)):
        letters_here = _N_LETTERS_MAX if d < 4 else 24
        offset += letters_here + 1 + int(digits[d]) * _N_SPAN[d + 1]
    if letters:
        i = _LETTERS24.index(letters[0])
        if len(digits) < 4:
            offset += 1 + i * 25 + (_LETTERS24.index(letters[1]) + 1 if len(letters) == 2 else 0)
        else:
            offset += 1 + i
    return _N_FIRST + offset


# ---------------------------------------------------------------- Japan, South Korea
def _japan(address: int) -> str | None:
    # JA + digit + digit + (digit + digit-or-letter | letter + letter); 916 per two-digit prefix.
    offset = address - 0x840000
    if not 0 <= offset < 229840:
        return None
    d1, offset = divmod(offset, 22984)  # span of one first digit
    d2, offset = divmod(offset, 916)
    if d1 > 9 or d2 > 9:
        return None
    reg = f"JA{d1}{d2}"
    if offset < 340:  # third a digit, fourth a digit or a letter (10 + 24 = 34 choices)
        d3, last = divmod(offset, 34)
        return reg + str(d3) + (str(last) if last < 10 else _LETTERS24[last - 10])
    k1, k2 = divmod(offset - 340, 24)
    return reg + _LETTERS24[k1] + _LETTERS24[k2] if k1 < 24 else None


def _korea(address: int) -> str | None:
    # HL + four characters read as the hex digits of a counter in three known windows.
    for start, end, base in ((0x71BA00, 0x71BF99, 0x7200), (0x71C000, 0x71C099, 0x8000),
                             (0x71C200, 0x71C299, 0x8200)):
        if start <= address <= end:
            return f"HL{address - start + base:X}"
    return None


# ---------------------------------------------------------------- numeric and three-letter blocks
@dataclass(frozen=True, slots=True)
class NumericBlock:
    """``count`` numeric registrations from ``first``, at consecutive addresses from ``start``."""

    start: int
    first: int
    count: int
    template: str  # trailing zeros replaced by the number, e.g. "RA-00000"

    def derive(self, address: int) -> str | None:
        k = address - self.start
        if not 0 <= k < self.count:
            return None
        num = str(self.first + k)
        return self.template[: len(self.template) - len(num)] + num


@dataclass(frozen=True, slots=True)
class LetterBlock:
    """Three-letter suffixes: address = start + i1*major + i2*minor + i3 (offset by ``first``)."""

    prefix: str
    start: int
    major: int
    minor: int
    first: str = "AAA"
    last: str = "ZZZ"
    alphabet: str = _LETTERS26

    def _index(self, suffix: str) -> int:
        a = self.alphabet
        i1, i2, i3 = (a.index(c) for c in suffix[:3])
        return i1 * self.major + i2 * self.minor + i3

    def derive(self, address: int) -> str | None:
        lo, hi = _letter_bounds(self)
        offset = address - self.start + lo
        if offset < lo or offset > hi:
            return None
        i1, rest = divmod(offset, self.major)
        i2, i3 = divmod(rest, self.minor)
        n = len(self.alphabet)
        if i1 >= n or i2 >= n or i3 >= n:
            return None
        return self.prefix + self.alphabet[i1] + self.alphabet[i2] + self.alphabet[i3]


@cache
def _letter_bounds(lb: LetterBlock) -> tuple[int, int]:
    """Index of the block's first and last suffix (computed once per block)."""
    return lb._index(lb.first), lb._index(lb.last)


_NUMERIC: tuple[NumericBlock, ...] = (
    NumericBlock(0x140000, 0, 100000, "RA-00000"),
    NumericBlock(0x0B03E8, 1000, 1000, "CU-T0000"),
)

_SQ = 26 * 26
_LETTER_BLOCKS: tuple[LetterBlock, ...] = (
    LetterBlock("ZS-", 0x008011, _SQ, 26),
    LetterBlock("F-G", 0x390000, 1024, 32),
    LetterBlock("F-H", 0x398000, 1024, 32),
    LetterBlock("D-A", 0x3C4421, 1024, 32, "AAA", "OZZ"),
    LetterBlock("D-A", 0x3C0001, _SQ, 26, "PAA", "ZZZ"),
    LetterBlock("D-B", 0x3C8421, 1024, 32, "AAA", "OZZ"),
    LetterBlock("D-B", 0x3C2001, _SQ, 26, "PAA", "ZZZ"),
    LetterBlock("D-C", 0x3CC000, _SQ, 26),
    LetterBlock("D-E", 0x3D04A8, _SQ, 26),
    LetterBlock("D-F", 0x3D4950, _SQ, 26),
    LetterBlock("D-G", 0x3D8DF8, _SQ, 26),
    LetterBlock("D-H", 0x3DD2A0, _SQ, 26),
    LetterBlock("D-I", 0x3E1748, _SQ, 26),
    LetterBlock("OO-", 0x448421, 1024, 32),
    LetterBlock("OY-", 0x458421, 1024, 32),
    LetterBlock("OH-", 0x460000, _SQ, 26),
    LetterBlock("SX-", 0x468421, 1024, 32),
    LetterBlock("CS-", 0x490421, 1024, 32),
    LetterBlock("YR-", 0x4A0421, 1024, 32),
    LetterBlock("TC-", 0x4B8421, 1024, 32),
    LetterBlock("JY-", 0x740421, 1024, 32),
    LetterBlock("AP-", 0x760421, 1024, 32),
    LetterBlock("9V-", 0x768421, 1024, 32),
    LetterBlock("YK-", 0x778421, 1024, 32),
    LetterBlock("C-F", 0xC00001, _SQ, 26),
    LetterBlock("C-G", 0xC044A9, _SQ, 26),
    LetterBlock("LV-", 0xE01041, 4096, 64),
)


def _span(lb: LetterBlock) -> tuple[int, int]:
    first = lb._index(lb.first)
    return lb.start, lb.start - first + lb._index(lb.last)


# (first address, last address, scheme) in table order: the first scheme that answers wins
_SCHEMES: tuple[tuple[int, int, Callable[[int], str | None]], ...] = (
    (_N_FIRST, _N_FIRST + _N_COUNT - 1, n_number),
    (0x840000, 0x840000 + 229839, _japan),
    (0x71BA00, 0x71C299, _korea),
    *((nb.start, nb.start + nb.count - 1, nb.derive) for nb in _NUMERIC),
    *((*_span(lb), lb.derive) for lb in _LETTER_BLOCKS),
)


_SPANS_LO = np.array([lo for lo, _, _ in _SCHEMES], dtype=np.int64)
_SPANS_HI = np.array([hi for _, hi, _ in _SCHEMES], dtype=np.int64)


def derivable_mask(addresses: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where some scheme covers the address (only there can a registration be derived)."""
    a = np.asarray(addresses, dtype=np.int64)
    out = np.zeros(a.shape, dtype=bool)
    for lo, hi in zip(_SPANS_LO.tolist(), _SPANS_HI.tolist(), strict=True):
        out |= (a >= lo) & (a <= hi)
    return out


def _merged_spans() -> tuple[list[int], list[int]]:
    """The union of the schemes' spans as sorted disjoint [lo, hi] intervals."""
    los: list[int] = []
    his: list[int] = []
    for lo, hi in sorted(zip(_SPANS_LO.tolist(), _SPANS_HI.tolist(), strict=True)):
        if his and lo <= his[-1] + 1:
            his[-1] = max(his[-1], hi)
        else:
            los.append(lo)
            his.append(hi)
    return los, his


_MERGED_LO, _MERGED_HI = _merged_spans()


def derive_registration(address: int) -> str | None:
    """Registration implied by the address where a State allocates in order, else ``None``."""
    k = bisect_right(_MERGED_LO, address) - 1
    if k < 0 or address > _MERGED_HI[k]:  # no scheme covers it (most addresses): done
        return None
    for lo, hi, scheme in _SCHEMES:
        if lo <= address <= hi:
            reg = scheme(address)
            if reg:
                return reg
    return None
