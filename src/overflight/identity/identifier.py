"""Who is this aircraft? Address → identity, from the store plus what the address itself implies.

Precedence where sources disagree (every opinion stays in the store, see
:meth:`Identifier.opinions`; fields on which sources disagree are listed in
:attr:`AircraftIdentity.conflicts`):

1. A user source (any imported source not named ``tar1090*`` / ``plane-alert*``) wins every field;
   among user sources the latest import wins.
2. Registration, type designator, description and year: tar1090-db (the registry) before
   plane-alert-db (a curated watchlist whose registrations are sometimes stale, e.g. RF- vs RA-).
3. Operator, military opinion, interesting, watchlist class, category and tags: plane-alert-db
   before tar1090-db (curated per aircraft; tar1090-db has no operator). Example: tar1090-db flags
   RA-82010 (Polet Cargo Airlines, An-124) military, plane-alert-db says civil: civil wins, both
   kept.
4. PIA and LADD (FAA programmes): tar1090-db before plane-alert-db.
5. Military is never hidden by an opinion: an address in a known military block is military
   (``military_reason="address block"``) even where a source says otherwise.

The resolution runs once per store generation (:mod:`overflight.identity.index`: an Arrow file
beside the store, memory-mapped at start); lookups read it without touching SQLite, and each
resolved :class:`AircraftIdentity` is cached (LRU) for the live path.

Without a registry entry the registration is derived from the address where a State allocates in
order (``registration_source="derived"``). Country always comes from the ICAO allocation table.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from overflight.identity.index import (
    COLS,
    PACKED_DERIVED_SHIFT,
    PACKED_HAS_REG_SHIFT,
    POOL_FIELDS,
    ResolvedIndex,
    load_index,
)
from overflight.identity.operators import AircraftType, Operator, airline_prefix
from overflight.identity.ranges import block_and_military, blocks_and_military, country_table
from overflight.identity.registration import (
    address_from_n_number,
    derivable_mask,
    derive_registration,
)
from overflight.identity.registry import (
    DB_FLAG_INTERESTING,
    DB_FLAG_LADD,
    DB_FLAG_MILITARY,
    DB_FLAG_PIA,
    RegistryRecord,
    registration_key,
)
from overflight.identity.store import KIND_USER, default_store_path, store_generation

__all__ = ["AircraftIdentity", "Identifier", "IdentityColumns"]

_REASON = ("user", "registry", "watchlist")  # by military opinion kind (index.KINDS order)

DEFAULT_CACHE_SIZE = 65_536  # resolved identities kept (LRU)
_derive = lru_cache(maxsize=DEFAULT_CACHE_SIZE)(derive_registration)  # batches repeat aircraft


@dataclass(frozen=True, slots=True)
class AircraftIdentity:
    """What is known about one address.

    ``db_flags`` uses readsb's bits (1 military, 2 interesting, 4 PIA, 8 LADD).
    """

    icao24: int
    registration: str | None
    registration_source: str | None  # "registry" | "derived" | None
    type_code: str | None  # ICAO type designator, e.g. "IL62"
    type_description: str | None  # from the ICAO type designators, e.g. "ILYUSHIN Il-62"
    description: str | None  # the source's own model text
    operator: str | None
    country: str | None
    country_code: str | None  # ISO 3166-1 alpha-2
    military: bool
    military_reason: str | None  # "watchlist" | "registry" | "user" | "address block" | None
    interesting: bool
    pia: bool
    ladd: bool
    db_flags: int
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    year: int | None = None
    watch_class: str | None = None  # plane-alert-db class: Mil, Gov, Pol, Civ
    type_class: str | None = None  # ICAO description code, e.g. "L4J"
    wtc: str | None = None  # wake turbulence category
    conflicts: tuple[str, ...] = ()  # fields on which the sources disagree
    operator_source: str | None = None  # "registry" | "callsign" | None


@dataclass(frozen=True, slots=True)
class IdentityColumns:
    """:meth:`Identifier.identify_many` result, one entry per address (object arrays: str/None)."""

    icao24: npt.NDArray[np.uint32]
    known: npt.NDArray[np.bool_]  # a registry entry exists
    registration: npt.NDArray[np.object_]
    registration_source: npt.NDArray[np.object_]
    type_code: npt.NDArray[np.object_]
    type_description: npt.NDArray[np.object_]
    operator: npt.NDArray[np.object_]
    country: npt.NDArray[np.object_]
    country_code: npt.NDArray[np.object_]
    military: npt.NDArray[np.bool_]
    db_flags: npt.NDArray[np.uint8]
    categories: npt.NDArray[np.object_]


_FIELD_SETTERS = tuple(getattr(AircraftIdentity, f.name).__set__
                       for f in fields(AircraftIdentity))


def _new_identity(values: tuple[Any, ...]) -> AircraftIdentity:
    """``AircraftIdentity(*values)`` (every field, in declaration order), about twice as fast.

    A frozen dataclass's ``__init__`` goes through ``object.__setattr__`` once per field; here the
    slot descriptors are set directly. The object is as frozen as one built by ``__init__``.
    """
    obj = object.__new__(AircraftIdentity)
    for setter, value in zip(_FIELD_SETTERS, values, strict=True):
        setter(obj, value)
    return obj


class Identifier:
    """Resolves addresses to identities from the store's memory-mapped resolved index.

    Opening is lazy: the index is mapped (or, when stale, rebuilt from the store) at the first
    lookup; types and operators are read from the store when first needed.
    """

    def __init__(self, store: Path | str | None = None, *,
                 cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self.store = Path(store) if store is not None else None
        self._index: ResolvedIndex | None = None
        self._types: dict[str, AircraftType] | None = None
        self._operators: dict[str, Operator] | None = None
        self._type_desc: npt.NDArray[np.object_] | None = None
        self._cached = lru_cache(maxsize=cache_size)(self._identify)

    @classmethod
    def default(cls) -> Identifier:
        """The default store if present (:func:`default_store_path`), else address-only."""
        path = default_store_path()
        return cls(path if path.exists() else None)

    # ------------------------------------------------------------------ loading
    def _has_store(self) -> bool:
        return self.store is not None and self.store.exists()

    @property
    def index(self) -> ResolvedIndex:
        """The resolved index (mapped at first use; empty without a store)."""
        if self._index is None:
            if self.store is not None and self._has_store():
                self._index = load_index(self.store)
            else:
                self._index = ResolvedIndex(_empty_table(), "")
        return self._index

    def refresh(self) -> bool:
        """Follow a new import into the store; True when the index changed."""
        if self.store is None or not self._has_store():
            return False
        with sqlite3.connect(f"file:{self.store}?mode=ro", uri=True) as con:
            generation = store_generation(con)
        if self._index is not None and self._index.generation == generation:
            return False
        self._types = self._operators = self._type_desc = None
        self._cached.cache_clear()
        self._index = load_index(self.store)  # the new index, mapped (built if need be) now
        return True

    def clear_caches(self) -> None:
        """Forget cached identities and decoded strings (memory is returned; results unchanged)."""
        self._cached.cache_clear()
        _derive.cache_clear()
        if self._index is not None:
            self._index.forget_decoded()

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.store is None or not self._has_store():
            return []
        with sqlite3.connect(f"file:{self.store}?mode=ro", uri=True) as con:
            try:
                return con.execute(sql, args).fetchall()
            except sqlite3.OperationalError:  # table missing: nothing imported yet
                return []

    @property
    def types(self) -> dict[str, AircraftType]:
        """ICAO type designators from the store (read at first use)."""
        if self._types is None:
            self._types = {r[0]: AircraftType(*r) for r in self._query(
                "SELECT designator, name, type_class, wtc FROM types")}
        return self._types

    @property
    def operators(self) -> dict[str, Operator]:
        """Airline designators from the store (read at first use)."""
        if self._operators is None:
            self._operators = {r[0]: Operator(*r) for r in self._query(
                "SELECT designator, name, country, telephony FROM operators")}
        return self._operators

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return len(self.index)

    @property
    def addresses(self) -> npt.NDArray[np.uint32]:
        """Every address some source knows, sorted (a read-only view of the index)."""
        return self.index.keys

    def identify(self, address: int, callsign: str | None = None) -> AircraftIdentity:
        """Identity of one address; ``callsign`` fills the operator when the registry has none.

        Results are cached per (address, callsign): repeated lookups of the live path cost a
        dictionary hit.
        """
        if type(address) is not int:
            address = int(address)
        return self._cached(address, callsign)

    def _identify(self, address: int, callsign: str | None) -> AircraftIdentity:
        block, mil_block = block_and_military(address)
        country = block.country if block else None
        country_code = block.country_code or None if block else None
        idx = self.index
        i = idx.row(address) if 0 <= address <= 0xFFFFFF else -1
        if i < 0:
            reg = derive_registration(address)
            op = self.operator_for_callsign(callsign) if callsign else None
            return _new_identity((
                address, reg, "derived" if reg else None, None, None, None,
                op.name if op else None, country, country_code, mil_block,
                "address block" if mil_block else None, False, False, False,
                DB_FLAG_MILITARY if mil_block else 0, (), (), (), None, None, None, None, (),
                "callsign" if op else None))
        desc, type_c, oper, cls, cat, tags, src, conf, packed = idx.row_codes(i)
        pv = idx.pools
        flags = packed & 15
        reg = idx.registration(i)  # derived at build time where no source gives one
        reg_source = (None if reg is None
                      else "derived" if packed >> PACKED_DERIVED_SHIFT & 1 else "registry")
        military = bool(flags & DB_FLAG_MILITARY)
        reason: str | None = None
        if military:
            reason = _REASON[((packed >> 4) & 3) - 1]
        elif mil_block:
            military, reason = True, "address block"
            flags |= DB_FLAG_MILITARY
        type_code = pv["type_code"][type_c]
        t = self.types.get(type_code) if type_code else None
        operator = pv["operator"][oper]
        op_source = "registry" if operator else None
        if operator is None:
            op = self.operator_for_callsign(callsign)
            if op is not None:
                operator, op_source = op.name, "callsign"
        category = pv["category"][cat]
        year = packed >> 6 & 0xFFF
        return _new_identity((
            address, reg, reg_source, type_code, t.name if t else None, pv["description"][desc],
            operator, country, country_code, military, reason, bool(flags & DB_FLAG_INTERESTING),
            bool(flags & DB_FLAG_PIA), bool(flags & DB_FLAG_LADD), flags,
            (category,) if category else (), pv["tags"][tags], pv["sources"][src], year or None,
            pv["watch_class"][cls], t.type_class if t else None, t.wtc if t else None,
            pv["conflicts"][conf], op_source))

    def _type_descriptions(self) -> npt.NDArray[np.object_]:
        """ICAO type name per entry of the type pool (``None`` where unknown)."""
        if self._type_desc is None:
            types = self.types
            out = np.empty(len(self.index.pools["type_code"]), dtype=object)
            out[:] = [types[t].name if t in types else None
                      for t in self.index.pools["type_code"]]
            self._type_desc = out
        return self._type_desc

    def identify_many(self, addresses: npt.ArrayLike) -> IdentityColumns:
        """Vectorised :meth:`identify` (without callsign operators) over an array of addresses."""
        a = np.asarray(addresses, dtype=np.int64).ravel()
        idx = self.index
        rows = idx.rows(a)
        known = rows >= 0
        codes = np.take(idx.codes, np.where(known, rows, 0), axis=0) if len(idx) else np.zeros(
            (len(a), idx.codes.shape[1]), dtype=np.int32)  # take: a row gather, 5x [] here
        codes[~known] = 0
        packed = codes[:, 8]
        pool = idx.pool_array
        has = np.flatnonzero(packed >> PACKED_HAS_REG_SHIFT & 1)
        reg = np.full(len(a), None, dtype=object)
        reg[has] = idx.registrations(rows[has])
        reg_src = np.full(len(a), None, dtype=object)
        reg_src[has] = "registry"
        reg_src[np.flatnonzero(packed >> PACKED_DERIVED_SHIFT & 1)] = "derived"
        missing = np.flatnonzero(~known)  # known rows hold their derived registration
        missing = missing[derivable_mask(a[missing])]
        if len(missing):
            uniq, inv = np.unique(a[missing], return_inverse=True)
            derived = np.empty(len(uniq), dtype=object)
            derived[:] = [_derive(x) for x in uniq.tolist()]
            reg[missing] = derived[inv]
            reg_src[missing[derived[inv] != None]] = "derived"  # noqa: E711
        flags = (packed & 15).astype(np.uint8)
        bi, mil_block = blocks_and_military(a)
        mil = ((flags & DB_FLAG_MILITARY) > 0) | mil_block
        flags |= mil.astype(np.uint8) * DB_FLAG_MILITARY
        table = country_table()
        type_codes = codes[:, 1]
        return IdentityColumns(
            icao24=a.astype(np.uint32), known=known, registration=reg, registration_source=reg_src,
            type_code=pool("type_code")[type_codes],
            type_description=self._type_descriptions()[type_codes],
            operator=pool("operator")[codes[:, 2]], country=table.country_names[bi],
            country_code=table.country_codes[bi],  # block index -1: the trailing None
            military=mil, db_flags=flags, categories=pool("category")[codes[:, 4]],
        )

    def operator_for_callsign(self, callsign: str | None) -> Operator | None:
        """Operator from the callsign's ICAO airline prefix (e.g. AFR1234 → Air France)."""
        if not callsign:
            return None
        prefix = airline_prefix(callsign)
        if prefix is not None:
            return self.operators.get(prefix)
        alpha = callsign.strip().upper().rstrip("0123456789")  # FAA-style, e.g. NASA928
        if len(alpha) > 3 and alpha.isalpha():
            return self.operators.get(alpha)
        return None

    def aircraft_type(self, designator: str) -> AircraftType | None:
        """ICAO type designator → name, class and wake category (when types were imported)."""
        return self.types.get(designator.strip().upper())

    def addresses_for_registration(self, registration: str) -> tuple[int, ...]:
        """All addresses any source gives this registration (``RA86496`` = ``RA-86496``).

        Falls back to the N-number algorithm when no source knows the registration.
        """
        key = registration_key(registration)
        found = sorted({r[0] for r in self._query(
            "SELECT icao24 FROM aircraft WHERE reg_key = ?", (key,))})
        if not found:
            derived = address_from_n_number(registration)
            if derived is not None:
                return (derived,)
        return tuple(found)

    def opinions(self, address: int) -> tuple[tuple[str, str, RegistryRecord], ...]:
        """Every source's record for ``address`` as ``(source, kind, record)``, unresolved."""
        rows = self._query(f"SELECT {', '.join(COLS)} FROM aircraft WHERE icao24 = ? "
                           "ORDER BY source", (address,))
        kinds = dict(self._query("SELECT name, kind FROM sources"))
        out = []
        for r in rows:
            def b(v: Any) -> bool | None:
                return None if v is None else bool(v)

            rec = RegistryRecord(
                icao24=r[0], registration=r[2], type_code=r[3], description=r[4], operator=r[5],
                year=r[6], military=b(r[7]), interesting=b(r[8]), pia=b(r[9]), ladd=b(r[10]),
                watch_class=r[11], category=r[12], tags=tuple(json.loads(r[13])) if r[13] else (),
                link=r[14])
            out.append((r[1], kinds.get(r[1], KIND_USER), rec))
        return tuple(out)


def _empty_table() -> Any:
    import pyarrow as pa

    schema = pa.schema([("icao24", pa.uint32()), ("registration", pa.string()),
                        ("codes", pa.list_(pa.int32(), len(POOL_FIELDS) + 1))])
    return schema.empty_table()
