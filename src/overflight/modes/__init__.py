"""Mode S / ADS-B decoding: pure functions, no I/O, no state (see ``DECODER_CONTRACT``).

``decode(frame) -> Message`` for one frame, ``decode_batch(frames) -> pyarrow.Table`` for many;
both share the field functions of :mod:`overflight.modes.fields` and :mod:`overflight.modes.adsb`.
CPR position mathematics is in :mod:`overflight.modes.cpr`.
"""

from __future__ import annotations

from overflight.modes.batch import batch_stats, decode_batch
from overflight.modes.correct import AddressFilter
from overflight.modes.decode import decode
from overflight.modes.errors import DecodeError
from overflight.modes.message import MESSAGE_FIELDS, Message

__all__ = [
    "MESSAGE_FIELDS",
    "AddressFilter",
    "DecodeError",
    "Message",
    "batch_stats",
    "decode",
    "decode_batch",
]
