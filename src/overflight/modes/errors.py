"""The one exception the decoder raises."""

from __future__ import annotations

__all__ = ["DecodeError"]


class DecodeError(ValueError):
    """Input that is not a Mode S frame: empty, odd or non-hex text, wrong length.

    A CRC failure is *not* a ``DecodeError``: it is a normal outcome (``Message.crc_ok``).
    """
