"""Country and military block of an ICAO 24-bit aircraft address.

The allocation table (``allocations.csv`` beside this module) was written for Overflight from ICAO
Annex 10 Vol. III, Chapter 9 (block sizes as ICAO allocates them: 1,024 addresses for the smallest
States), plus national sub-blocks (UK territories, Hong Kong) and, marked ``observed``, the few
addresses next to a State's block that its own registry uses. Blocks may nest: the most specific
(smallest) block containing an address wins, whatever the order of the table.

The military blocks are the 32 address ranges readsb treats as military (``isMilRange``), with our
labels. All lookups exist as a scalar call and as a vectorised call over a NumPy array.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

__all__ = [
    "MILITARY_BLOCKS",
    "AddressBlock",
    "CountryTable",
    "MilitaryBlock",
    "block_and_military",
    "blocks_and_military",
    "country_of",
    "country_table",
    "military_block_of",
    "military_mask",
]

_MAX_ADDRESS = 0xFFFFFF


@dataclass(frozen=True, slots=True)
class AddressBlock:
    """A contiguous block of addresses allocated to a State (``end`` inclusive)."""

    start: int
    end: int
    country: str
    country_code: str  # ISO 3166-1 alpha-2, upper case; "" for ICAO's own blocks
    basis: str  # "icao" | "national" | "observed"

    @property
    def size(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class MilitaryBlock:
    """An address range whose aircraft are military (``end`` inclusive)."""

    start: int
    end: int
    label: str


# The 32 ranges of readsb aircraft.c isMilRange() (= tar1090-db ranges.json); labels are ours.
MILITARY_BLOCKS: tuple[MilitaryBlock, ...] = (
    MilitaryBlock(0xADF7C8, 0xAFFFFF, "United States military"),
    MilitaryBlock(0x010070, 0x01008F, "Egypt military"),
    MilitaryBlock(0x0A4000, 0x0A4FFF, "Algeria military"),
    MilitaryBlock(0x33FF00, 0x33FFFF, "Italy military"),
    MilitaryBlock(0x350000, 0x37FFFF, "Spain military"),
    MilitaryBlock(0x3AA000, 0x3AFFFF, "France military"),
    MilitaryBlock(0x3B7000, 0x3BFFFF, "France military"),
    MilitaryBlock(0x3EA000, 0x3EBFFF, "Germany military"),
    MilitaryBlock(0x3F4000, 0x3FBFFF, "Germany military"),
    MilitaryBlock(0x400000, 0x40003F, "United Kingdom military"),
    MilitaryBlock(0x43C000, 0x43CFFF, "United Kingdom military"),
    MilitaryBlock(0x444000, 0x446FFF, "Austria military"),
    MilitaryBlock(0x44F000, 0x44FFFF, "Belgium military"),
    MilitaryBlock(0x457000, 0x457FFF, "Bulgaria military"),
    MilitaryBlock(0x45F400, 0x45F4FF, "Denmark military"),
    MilitaryBlock(0x468000, 0x4683FF, "Greece military"),
    MilitaryBlock(0x473C00, 0x473C0F, "Hungary military"),
    MilitaryBlock(0x478100, 0x4781FF, "Norway military"),
    MilitaryBlock(0x480000, 0x480FFF, "Netherlands military"),
    MilitaryBlock(0x48D800, 0x48D87F, "Poland military"),
    MilitaryBlock(0x497C00, 0x497CFF, "Portugal military"),
    MilitaryBlock(0x498420, 0x49842F, "Czechia military"),
    MilitaryBlock(0x4B7000, 0x4B7FFF, "Switzerland military"),
    MilitaryBlock(0x4B8200, 0x4B82FF, "Türkiye military"),
    MilitaryBlock(0x70C070, 0x70C07F, "Oman military"),
    MilitaryBlock(0x710258, 0x71028F, "Saudi Arabia military"),
    MilitaryBlock(0x710380, 0x71039F, "Saudi Arabia military"),
    MilitaryBlock(0x738A00, 0x738AFF, "Israel military"),
    MilitaryBlock(0x7CF800, 0x7CFAFF, "Australia military"),
    MilitaryBlock(0x800200, 0x8002FF, "India military"),
    MilitaryBlock(0xC20000, 0xC3FFFF, "Canada military"),
    MilitaryBlock(0xE40000, 0xE41FFF, "Brazil military"),
)


def _read_allocations() -> tuple[AddressBlock, ...]:
    text = resources.files("overflight.identity").joinpath("allocations.csv").read_text("utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return tuple(
        AddressBlock(
            int(r["start_hex"], 16), int(r["end_hex"], 16), r["country"], r["country_code"],
            r["basis"],
        )
        for r in csv.DictReader(lines)
    )


def _flatten(
    starts: list[int], ends: list[int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """Cut nested ranges into disjoint segments, each owned by its smallest containing range.

    Returns segment start addresses (sorted) and the owning range index per segment (-1: none).
    """
    bounds = sorted({0, _MAX_ADDRESS + 1, *starts, *(e + 1 for e in ends)})
    seg = np.asarray(bounds[:-1], dtype=np.int64)
    owner = np.full(len(seg), -1, dtype=np.int32)
    best = np.full(len(seg), np.iinfo(np.int64).max, dtype=np.int64)
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        lo = int(np.searchsorted(seg, s, side="left"))
        hi = int(np.searchsorted(seg, e, side="right"))
        size = e - s + 1
        take = best[lo:hi] > size
        owner[lo:hi][take] = i
        best[lo:hi][take] = size
    return seg, owner


class CountryTable:
    """Address → allocating State, most specific block first; scalar and vectorised."""

    def __init__(self, blocks: tuple[AddressBlock, ...]) -> None:
        self.blocks = blocks
        self._seg, self._owner = _flatten([b.start for b in blocks], [b.end for b in blocks])
        self._seg_list: list[int] = self._seg.tolist()  # scalar lookups: bisect, no NumPy call
        self._block_of_seg = [blocks[o] if o >= 0 else None for o in self._owner.tolist()]
        # one extra trailing None, so that block index -1 (no State) maps to None
        self.country_names = np.array([b.country for b in blocks] + [None], dtype=object)
        self.country_codes = np.array([b.country_code or None for b in blocks] + [None],
                                      dtype=object)

    def block_index(self, addresses: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Index into :attr:`blocks` per address, ``-1`` where no State holds it."""
        a = np.asarray(addresses, dtype=np.int64)
        idx = np.searchsorted(self._seg, a, side="right") - 1
        out = self._owner[np.clip(idx, 0, len(self._seg) - 1)]
        return np.where((a < 0) | (a > _MAX_ADDRESS), np.int32(-1), out).astype(np.int32)

    def lookup(self, address: int) -> AddressBlock | None:
        """Block holding ``address`` (most specific), or ``None``."""
        if not 0 <= address <= _MAX_ADDRESS:
            return None
        return self._block_of_seg[bisect_right(self._seg_list, address) - 1]


@cache
def country_table() -> CountryTable:
    """The project's allocation table (loaded once)."""
    return CountryTable(_read_allocations())


def country_of(address: int) -> AddressBlock | None:
    """Allocation block (country, ISO code) of one address, or ``None`` if unallocated."""
    return country_table().lookup(address)


@cache
def _military_segments() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    return _flatten([b.start for b in MILITARY_BLOCKS], [b.end for b in MILITARY_BLOCKS])


@cache
def _military_lists() -> tuple[list[int], list[MilitaryBlock | None]]:
    seg, owner = _military_segments()
    return seg.tolist(), [MILITARY_BLOCKS[o] if o >= 0 else None for o in owner.tolist()]


def military_block_of(address: int) -> MilitaryBlock | None:
    """Known military address block holding ``address``, or ``None``."""
    if not 0 <= address <= _MAX_ADDRESS:
        return None
    seg, block = _military_lists()
    return block[bisect_right(seg, address) - 1]


@cache
def _combined_lists() -> tuple[list[int], list[tuple[AddressBlock | None, bool]]]:
    """Segments cutting both tables: (allocation block, in a military block) per segment."""
    table = country_table()
    mil_seg, mil_block = _military_lists()
    bounds = sorted({*table._seg_list, *mil_seg})
    info = [(table._block_of_seg[bisect_right(table._seg_list, b) - 1],
             mil_block[bisect_right(mil_seg, b) - 1] is not None) for b in bounds]
    return bounds, info


def block_and_military(address: int) -> tuple[AddressBlock | None, bool]:
    """:func:`country_of` and whether :func:`military_block_of` holds ``address``, in one search."""
    if not 0 <= address <= _MAX_ADDRESS:
        return None, False
    bounds, info = _combined_lists()
    return info[bisect_right(bounds, address) - 1]


_Arrays3 = tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.bool_]]


@cache
def _combined_arrays() -> _Arrays3:
    bounds, info = _combined_lists()
    table = country_table()
    index_of = {id(b): i for i, b in enumerate(table.blocks)}
    block = np.array([index_of[id(b)] if b is not None else -1 for b, _ in info], dtype=np.int32)
    return np.asarray(bounds, dtype=np.int64), block, np.array([m for _, m in info], dtype=bool)


def blocks_and_military(
    addresses: npt.ArrayLike,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
    """Vectorised :func:`block_and_military`: index into ``country_table().blocks`` (-1: none)
    and the military-block mask, from one search."""
    a = np.asarray(addresses, dtype=np.int64)
    bounds, block, mil = _combined_arrays()
    seg = np.searchsorted(bounds, a, side="right") - 1
    valid = (a >= 0) & (a <= _MAX_ADDRESS)
    seg = np.where(valid, seg, 0)
    return np.where(valid, block[seg], np.int32(-1)), valid & mil[seg]


def military_mask(addresses: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where an address lies in a known military block (vectorised)."""
    a = np.asarray(addresses, dtype=np.int64)
    seg, owner = _military_segments()
    idx = np.clip(np.searchsorted(seg, a, side="right") - 1, 0, len(seg) - 1)
    return (owner[idx] >= 0) & (a >= 0) & (a <= _MAX_ADDRESS)
