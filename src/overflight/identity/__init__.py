"""Identification: who an aircraft is, from its ICAO address, registries, watchlists and callsign.

Public API for the tracker: :class:`Identifier` (``Identifier(store_path)`` or
``Identifier.default()``), its :meth:`~Identifier.identify` → :class:`AircraftIdentity`,
:meth:`~Identifier.identify_many` → :class:`IdentityColumns` and
:meth:`~Identifier.operator_for_callsign` → :class:`Operator`. The precedence between
disagreeing sources is documented in :mod:`overflight.identity.identifier`; it is applied once per
import into a memory-mapped index beside the store (:mod:`overflight.identity.index`,
:func:`build_index`), so an :class:`Identifier` starts in milliseconds.
"""

from __future__ import annotations

from overflight.identity.identifier import AircraftIdentity, Identifier, IdentityColumns
from overflight.identity.index import build_index, index_path
from overflight.identity.operators import AircraftType, Operator, airline_prefix
from overflight.identity.ranges import country_of, military_block_of, military_mask
from overflight.identity.registration import derive_registration, n_number
from overflight.identity.store import ImportReport, default_store_path, import_file, open_store

__all__ = [
    "AircraftIdentity",
    "AircraftType",
    "Identifier",
    "IdentityColumns",
    "ImportReport",
    "Operator",
    "airline_prefix",
    "build_index",
    "country_of",
    "default_store_path",
    "derive_registration",
    "import_file",
    "index_path",
    "military_block_of",
    "military_mask",
    "n_number",
    "open_store",
]
