"""Receivers and feeds: bytes in and out, no decoding.

Files (:func:`read_batches`), Beast (:mod:`.beast`), AVR (:mod:`.avr`), SBS (:mod:`.sbs`),
readsb ``aircraft.json`` (:mod:`.readsb_json`), live sockets (:mod:`.net`), counter anchoring
(:mod:`.clock`), replay (:mod:`.replay`) and recording (:mod:`.record`).
"""

from __future__ import annotations

from overflight.sources.beast import BeastParser, BeastStats, encode_beast, parse_beast
from overflight.sources.files import FrameReader, ReadStats, read_batches

__all__ = [
    "BeastParser",
    "BeastStats",
    "FrameReader",
    "ReadStats",
    "encode_beast",
    "parse_beast",
    "read_batches",
]
