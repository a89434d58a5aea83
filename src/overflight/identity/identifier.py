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

Without a registry entry the registration is derived from the address where a State allocates in
order (``registration_source="derived"``). Country always comes from the ICAO allocation table.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from overflight.identity.operators import AircraftType, Operator, airline_prefix
from overflight.identity.ranges import country_of, country_table, military_block_of, military_mask
from overflight.identity.registration import address_from_n_number, derive_registration
from overflight.identity.registry import (
    DB_FLAG_INTERESTING,
    DB_FLAG_LADD,
    DB_FLAG_MILITARY,
    DB_FLAG_PIA,
    RegistryRecord,
)
from overflight.identity.store import (
    KIND_REGISTRY,
    KIND_USER,
    KIND_WATCHLIST,
    default_store_path,
    registration_key,
)

__all__ = ["AircraftIdentity", "Identifier", "IdentityColumns"]

_IDENTITY_ORDER = (KIND_USER, KIND_REGISTRY, KIND_WATCHLIST)
_WATCH_ORDER = (KIND_USER, KIND_WATCHLIST, KIND_REGISTRY)
_PROGRAMME_ORDER = (KIND_USER, KIND_REGISTRY, KIND_WATCHLIST)
_REASON = {KIND_USER: "user", KIND_REGISTRY: "registry", KIND_WATCHLIST: "watchlist"}

# column order of the SELECT in _load
_COLS = ("icao24", "source", "registration", "type_code", "description", "operator", "year",
         "military", "interesting", "pia", "ladd", "watch_class", "category", "tags", "link")
_F = {name: i for i, name in enumerate(_COLS)}


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


class _Pool:
    """Interned values: index 0 is ``None``."""

    def __init__(self) -> None:
        self.values: list[Any] = [None]
        self._index: dict[Any, int] = {None: 0}

    def add(self, value: Any) -> int:
        i = self._index.get(value)
        if i is None:
            i = self._index[value] = len(self.values)
            self.values.append(value)
        return i

    def array(self) -> npt.NDArray[np.object_]:
        out = np.empty(len(self.values), dtype=object)
        out[:] = self.values
        return out


def _first(rows: list[tuple[Any, ...]], field: str) -> tuple[Any, Any]:
    """First non-None value of ``field`` in precedence-ordered rows, with its row."""
    i = _F[field]
    for r in rows:
        if r[i] is not None:
            return r[i], r
    return None, None


class Identifier:
    """Resolves addresses to identities from an in-memory index built from the store."""

    def __init__(self, store: Path | str | None = None) -> None:
        self.store = Path(store) if store is not None else None
        self._keys = np.zeros(0, dtype=np.uint32)
        self._reg: list[str | None] = []
        self._reg_arr = np.empty(0, dtype=object)
        self._types: dict[str, AircraftType] = {}
        self._operators: dict[str, Operator] = {}
        self._source_kind: dict[str, str] = {}
        self._by_reg: dict[str, list[int]] | None = None
        pools = {k: _Pool() for k in ("type", "desc", "op", "cls", "cat", "tags", "src", "conf")}
        self._pools = pools
        self._codes: dict[str, npt.NDArray[np.int32]] = {
            k: np.zeros(0, dtype=np.int32) for k in pools}
        self._flags = np.zeros(0, dtype=np.uint8)
        self._mil_kind = np.zeros(0, dtype=np.int8)  # index into _ORDER_KINDS, -1 none
        self._year = np.zeros(0, dtype=np.int16)
        if self.store is not None and self.store.exists():
            with sqlite3.connect(f"file:{self.store}?mode=ro", uri=True) as con:
                self._load(con)
        self._pool_arrays = {k: p.array() for k, p in pools.items()}
        self._packed = np.column_stack(
            [*self._codes.values(), self._flags, self._mil_kind, self._year]).astype(np.int32)
        self._type_desc = np.array(
            [None] + [self._types[t].name if t in self._types else None
                      for t in pools["type"].values[1:]], dtype=object)

    @classmethod
    def default(cls) -> Identifier:
        """The default store if present (:func:`default_store_path`), else address-only."""
        path = default_store_path()
        return cls(path if path.exists() else None)

    # ------------------------------------------------------------------ loading
    def _load(self, con: sqlite3.Connection) -> None:
        """Resolve every address's opinions by precedence (one pass over rows sorted by address)."""
        sources = con.execute("SELECT name, kind, imported_at FROM sources").fetchall()
        self._source_kind = {n: k for n, k, _ in sources}
        stamp = {n: t for n, _, t in sources}  # among user sources the latest import wins
        for row in con.execute("SELECT designator, name, type_class, wtc FROM types"):
            self._types[row[0]] = AircraftType(*row)
        for row in con.execute("SELECT designator, name, country, telephony FROM operators"):
            self._operators[row[0]] = Operator(*row)
        rows = con.execute(f"SELECT {', '.join(_COLS)} FROM aircraft ORDER BY icao24").fetchall()
        n_max = len(rows)
        keys = np.empty(n_max, dtype=np.uint32)
        codes = {k: np.zeros(n_max, dtype=np.int32) for k in self._pools}
        flags = np.zeros(n_max, dtype=np.uint8)
        mil_kind = np.full(n_max, -1, dtype=np.int8)
        year = np.zeros(n_max, dtype=np.int16)
        reg: list[str | None] = []
        p = self._pools
        kind_of = self._source_kind
        kinds = (KIND_USER, KIND_REGISTRY, KIND_WATCHLIST)
        add_type, add_desc, add_op = p["type"].add, p["desc"].add, p["op"].add
        add_cls, add_cat = p["cls"].add, p["cat"].add
        add_tags, add_src = p["tags"].add, p["src"].add
        c_type, c_desc, c_op = codes["type"], codes["desc"], codes["op"]
        c_cls, c_cat, c_tags, c_src = codes["cls"], codes["cat"], codes["tags"], codes["src"]
        n = 0
        i = 0
        total = len(rows)
        while i < total:
            r = rows[i]
            j = i + 1
            while j < total and rows[j][0] == r[0]:
                j += 1
            if j == i + 1:  # one source: no precedence to apply
                reg.append(r[2])
                c_type[n] = add_type(r[3])
                c_desc[n] = add_desc(r[4])
                c_op[n] = add_op(r[5])
                year[n] = r[6] or 0
                mil, inter, pia, ladd = r[7], r[8], r[9], r[10]
                c_cls[n] = add_cls(r[11])
                c_cat[n] = add_cat(r[12])
                c_tags[n] = add_tags(tuple(json.loads(r[13])) if r[13] else ())
                c_src[n] = add_src((r[1],))
                if mil is not None:
                    mil_kind[n] = kinds.index(kind_of.get(r[1], KIND_USER))
            else:
                group = rows[i:j]

                def order(kind_order: tuple[str, ...], g: list[tuple[Any, ...]] = group
                          ) -> list[tuple[Any, ...]]:
                    return sorted(g, key=lambda rec: (
                        kind_order.index(kind_of.get(rec[1], KIND_USER)), -stamp.get(rec[1], 0.0)))

                ident, watch, prog = (order(_IDENTITY_ORDER), order(_WATCH_ORDER),
                                      order(_PROGRAMME_ORDER))
                reg.append(_first(ident, "registration")[0])
                c_type[n] = add_type(_first(ident, "type_code")[0])
                c_desc[n] = add_desc(_first(ident, "description")[0])
                year[n] = _first(ident, "year")[0] or 0
                c_op[n] = add_op(_first(watch, "operator")[0])
                mil, mil_row = _first(watch, "military")
                if mil_row is not None:
                    mil_kind[n] = kinds.index(kind_of.get(mil_row[1], KIND_USER))
                inter = _first(watch, "interesting")[0]
                c_cls[n] = add_cls(_first(watch, "watch_class")[0])
                c_cat[n] = add_cat(_first(watch, "category")[0])
                tags = _first(watch, "tags")[0]
                c_tags[n] = add_tags(tuple(json.loads(tags)) if tags else ())
                pia, ladd = _first(prog, "pia")[0], _first(prog, "ladd")[0]
                c_src[n] = add_src(tuple(opinion[1] for opinion in ident))
                codes["conf"][n] = p["conf"].add(_conflicts(group))
            keys[n] = r[0]
            flags[n] = ((DB_FLAG_MILITARY if mil else 0) | (DB_FLAG_INTERESTING if inter else 0)
                        | (DB_FLAG_PIA if pia else 0) | (DB_FLAG_LADD if ladd else 0))
            n += 1
            i = j
        self._keys = keys[:n]
        self._reg = reg
        self._reg_arr = np.empty(n, dtype=object)
        self._reg_arr[:] = reg
        self._codes = {k: v[:n].copy() for k, v in codes.items()}
        self._flags, self._mil_kind, self._year = flags[:n], mil_kind[:n], year[:n]

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return len(self._keys)

    def _row(self, address: int) -> int:
        if not 0 <= address <= 0xFFFFFF:
            return -1
        i = int(self._keys.searchsorted(np.uint32(address)))  # same dtype: no array cast
        return i if i < len(self._keys) and int(self._keys[i]) == address else -1

    def identify(self, address: int, callsign: str | None = None) -> AircraftIdentity:
        """Identity of one address; ``callsign`` fills the operator when the registry has none."""
        block = country_of(address)
        mil_block = military_block_of(address) is not None
        i = self._row(address)
        if i < 0:
            reg = derive_registration(address)
            op = self.operator_for_callsign(callsign)
            return AircraftIdentity(
                icao24=address, registration=reg, registration_source="derived" if reg else None,
                type_code=None, type_description=None, description=None,
                operator=op.name if op else None,
                country=block.country if block else None,
                country_code=block.country_code or None if block else None,
                military=mil_block, military_reason="address block" if mil_block else None,
                interesting=False, pia=False, ladd=False,
                db_flags=DB_FLAG_MILITARY if mil_block else 0,
                operator_source="callsign" if op else None,
            )
        pv = self._pool_arrays
        packed = self._packed[i].tolist()  # one NumPy call for every coded field
        c = dict(zip(self._codes, packed, strict=False))
        flags, mil_kind, year = packed[-3:]
        reg = self._reg[i]
        reg_source = "registry" if reg else None
        if reg is None:
            reg = derive_registration(address)
            reg_source = "derived" if reg else None
        military = bool(flags & DB_FLAG_MILITARY)
        reason: str | None = None
        if military:
            reason = _REASON[(KIND_USER, KIND_REGISTRY, KIND_WATCHLIST)[mil_kind]]
        elif mil_block:
            military, reason = True, "address block"
            flags |= DB_FLAG_MILITARY
        type_code = pv["type"][c["type"]]
        t = self._types.get(type_code) if type_code else None
        operator = pv["op"][c["op"]]
        op_source = "registry" if operator else None
        if operator is None:
            op = self.operator_for_callsign(callsign)
            if op is not None:
                operator, op_source = op.name, "callsign"
        cat = pv["cat"][c["cat"]]
        return AircraftIdentity(
            icao24=address, registration=reg, registration_source=reg_source,
            type_code=type_code, type_description=t.name if t else None,
            description=pv["desc"][c["desc"]], operator=operator,
            country=block.country if block else None,
            country_code=block.country_code or None if block else None,
            military=military, military_reason=reason,
            interesting=bool(flags & DB_FLAG_INTERESTING), pia=bool(flags & DB_FLAG_PIA),
            ladd=bool(flags & DB_FLAG_LADD), db_flags=flags,
            categories=(cat,) if cat else (), tags=pv["tags"][c["tags"]],
            sources=pv["src"][c["src"]], year=year or None,
            watch_class=pv["cls"][c["cls"]], type_class=t.type_class if t else None,
            wtc=t.wtc if t else None, conflicts=pv["conf"][c["conf"]] or (),
            operator_source=op_source,
        )

    def identify_many(self, addresses: npt.ArrayLike) -> IdentityColumns:
        """Vectorised :meth:`identify` (without callsign operators) over an array of addresses."""
        a = np.asarray(addresses, dtype=np.int64).ravel()
        n = len(self._keys)
        pos = np.searchsorted(self._keys, np.clip(a, 0, 0xFFFFFF).astype(np.uint32))
        pos_c = np.minimum(pos, max(n - 1, 0))
        known = (self._keys[pos_c] == a) if n else np.zeros(len(a), dtype=bool)
        pv = self._pool_arrays

        def take(pool: str) -> npt.NDArray[np.object_]:
            codes = np.where(known, self._codes[pool][pos_c] if n else 0, 0)
            out: npt.NDArray[np.object_] = pv[pool][codes]
            return out

        reg = np.empty(len(a), dtype=object)
        reg_src = np.empty(len(a), dtype=object)
        if n:
            reg[known] = self._reg_arr[pos_c[known]]
        has = known.copy()
        if n:
            has[known] = self._reg_arr[pos_c[known]] != None  # noqa: E711
        reg_src[has] = "registry"
        missing = np.flatnonzero(~has)
        if len(missing):
            uniq, inv = np.unique(a[missing], return_inverse=True)
            derived = np.empty(len(uniq), dtype=object)
            derived[:] = [derive_registration(int(x)) for x in uniq]
            reg[missing] = derived[inv]
            has_derived = np.array([d is not None for d in derived], dtype=bool)[inv]
            reg_src[missing[has_derived]] = "derived"
        flags = np.where(known, self._flags[pos_c] if n else 0, 0).astype(np.uint8)
        mil = ((flags & DB_FLAG_MILITARY) > 0) | military_mask(a)
        flags |= mil.astype(np.uint8) * DB_FLAG_MILITARY
        table = country_table()
        bi = table.block_index(a)
        type_codes = np.where(known, self._codes["type"][pos_c] if n else 0, 0)
        return IdentityColumns(
            icao24=a.astype(np.uint32), known=known, registration=reg, registration_source=reg_src,
            type_code=pv["type"][type_codes], type_description=self._type_desc[type_codes],
            operator=take("op"), country=table.country_names[bi],  # index -1: None
            country_code=table.country_codes[bi],
            military=mil, db_flags=flags, categories=take("cat"),
        )

    def operator_for_callsign(self, callsign: str | None) -> Operator | None:
        """Operator from the callsign's ICAO airline prefix (e.g. AFR1234 → Air France)."""
        prefix = airline_prefix(callsign)
        if prefix is not None:
            return self._operators.get(prefix)
        if callsign:  # FAA-style longer designators, e.g. NASA928
            alpha = callsign.strip().upper().rstrip("0123456789")
            if len(alpha) > 3 and alpha.isalpha():
                return self._operators.get(alpha)
        return None

    def aircraft_type(self, designator: str) -> AircraftType | None:
        """ICAO type designator → name, class and wake category (when types were imported)."""
        return self._types.get(designator.strip().upper())

    def addresses_for_registration(self, registration: str) -> tuple[int, ...]:
        """All addresses any source gives this registration (``RA86496`` = ``RA-86496``).

        Falls back to the N-number algorithm when no source knows the registration.
        """
        key = registration_key(registration)
        if self._by_reg is None:
            self._by_reg = {}
            if self.store is not None and self.store.exists():
                with sqlite3.connect(f"file:{self.store}?mode=ro", uri=True) as con:
                    for k, addr in con.execute(
                            "SELECT reg_key, icao24 FROM aircraft WHERE reg_key IS NOT NULL"):
                        self._by_reg.setdefault(k, []).append(addr)
        found = sorted(set(self._by_reg.get(key, ())))
        if not found:
            derived = address_from_n_number(registration)
            if derived is not None:
                return (derived,)
        return tuple(found)

    def opinions(self, address: int) -> tuple[tuple[str, str, RegistryRecord], ...]:
        """Every source's record for ``address`` as ``(source, kind, record)``, unresolved."""
        if self.store is None or not self.store.exists():
            return ()
        with sqlite3.connect(f"file:{self.store}?mode=ro", uri=True) as con:
            rows = con.execute(f"SELECT {', '.join(_COLS)} FROM aircraft WHERE icao24 = ? "
                               "ORDER BY source", (address,)).fetchall()
        out = []
        for r in rows:
            def b(v: Any) -> bool | None:
                return None if v is None else bool(v)

            rec = RegistryRecord(
                icao24=r[0], registration=r[2], type_code=r[3], description=r[4], operator=r[5],
                year=r[6], military=b(r[7]), interesting=b(r[8]), pia=b(r[9]), ladd=b(r[10]),
                watch_class=r[11], category=r[12], tags=tuple(json.loads(r[13])) if r[13] else (),
                link=r[14])
            out.append((r[1], self._source_kind.get(r[1], KIND_USER), rec))
        return tuple(out)


def _conflicts(group: list[tuple[Any, ...]]) -> tuple[str, ...]:
    """Names of the fields on which the rows of one address disagree."""
    out = []
    for field in ("registration", "type_code", "operator", "military"):
        i = _F[field]
        vals = {registration_key(r[i]) if field == "registration" else r[i]
                for r in group if r[i] is not None and r[i] == r[i]}  # NaN: no opinion
        if len(vals) > 1:
            out.append(field)
    return tuple(out)
