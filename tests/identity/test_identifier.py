"""Identities from the real databases: the issue's aircraft, conflicts, precedence, vectorised."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np

from overflight.identity import Identifier, import_file, open_store
from overflight.identity.registration import n_number


def test_il62_russian_air_force(identifier: Identifier) -> None:
    i = identifier.identify(0x1551E0)
    assert i.registration == "RA-86496" and i.registration_source == "registry"
    assert i.type_code == "IL62" and i.type_description == "ILYUSHIN Il-62"
    assert i.operator == "Russian Air Force"  # from plane-alert-db
    assert i.military and i.military_reason == "watchlist"
    assert (i.country, i.country_code) == ("Russia", "RU")
    assert i.db_flags & 1 and i.categories == ("Other Air Forces",)
    assert set(i.sources) == {"tar1090-db", "plane-alert-db"}
    assert i.type_class == "L4J" and i.wtc == "H"


def test_an124(identifier: Identifier) -> None:
    i = identifier.identify(0x154073)
    assert (i.registration, i.type_code) == ("RA-82035", "A124")
    assert i.type_description == "ANTONOV An-124 Ruslan" and i.military


def test_us_military_c40c(identifier: Identifier) -> None:
    i = identifier.identify(0xAE503D)
    assert i.registration == "09-0540" and i.type_code == "B737"
    assert i.description == "Boeing C-40C Clipper" and i.operator == "USAF"
    # plane-alert-db calls it "Gov" (VIP transport); the address block keeps it military
    assert i.military and i.military_reason == "address block" and i.watch_class == "Gov"
    assert "military" in i.conflicts
    assert i.country_code == "US"


def test_n_number_without_registry(identifier: Identifier) -> None:
    known = identifier.identify(0xA4E8F0)  # registry entry (PIA) without registration
    assert (known.registration, known.registration_source) == ("N415YY", "derived") and known.pia
    bare = Identifier(None)
    for address in (0xA00001, 0xA0B1C2, 0xAB1234, 0xADF7C7):
        reg = identifier.identify(address)
        derived = bare.identify(address)
        assert derived.registration_source == "derived"
        assert derived.registration == n_number(address)
        if reg.registration_source == "registry":
            assert derived.registration == reg.registration


def test_french_military_block_without_registry() -> None:
    i = Identifier(None).identify(0x3B7777)
    assert i.military and i.military_reason == "address block" and i.db_flags == 1
    assert i.country_code == "FR" and i.registration is None


def test_conflicting_opinions_are_kept(identifier: Identifier) -> None:
    # RA-82010 An-124 (Polet): tar1090-db says military, plane-alert-db civil "Da Comrade"
    i = identifier.identify(0x15405A)
    assert not i.military and i.operator == "Polet Cargo Airlines" and "military" in i.conflicts
    ops = {src: rec for src, _, rec in identifier.opinions(0x15405A)}
    assert ops["tar1090-db"].military is True and ops["plane-alert-db"].military is False
    assert ops["plane-alert-db"].category == "Da Comrade"
    # RA-86540 IL-62: tar1090-db not military, plane-alert-db Russian Air Force
    j = identifier.identify(0x15520C)
    assert j.military and j.military_reason == "watchlist" and "military" in j.conflicts
    # 15405B: registry RA-82011, watchlist RF-82011; the registry wins, both are found
    k = identifier.identify(0x15405B)
    assert k.registration == "RA-82011" and "registration" in k.conflicts
    assert identifier.addresses_for_registration("RF-82011") == (0x15405B,)
    assert identifier.addresses_for_registration("ra82011") == (0x15405B,)


def test_user_file_wins(shared: Callable[[str], Path], tmp_path: Path) -> None:
    # a small store: the real tar1090-db rows of 14xxxx-15xxxx and the real plane-alert-db
    with gzip.open(shared("aircraft-db-tar1090/aircraft.csv.gz"), "rt", encoding="utf-8") as f:
        lines = [ln for k, ln in enumerate(f) if k == 0 or ln.startswith(("14", "15"))]
    reg = tmp_path / "aircraft.csv"
    reg.write_text("".join(lines), encoding="utf-8")
    store = tmp_path / "s.sqlite"
    con = open_store(store)
    import_file(con, reg, source="tar1090-db")
    import_file(con, shared("aircraft-plane-alert-db/plane-alert-db.csv"))
    before = Identifier(store).identify(0x15405A)
    assert not before.military and before.operator == "Polet Cargo Airlines"
    user = tmp_path / "mine.csv"
    user.write_text("$ICAO,$Registration,$Operator,$Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,"
                    "$#Tag 3,Category,$#Link\n"
                    "15405A,RA-82010,Russian Aerospace Forces,An-124,A124,Mil,Checked,,,"
                    "Other Air Forces,\n", encoding="utf-8")
    rep = import_file(con, user, source="my-notes")
    assert rep.kind == "user"
    after = Identifier(store)
    i = after.identify(0x15405A)
    assert i.military and i.military_reason == "user"
    assert i.operator == "Russian Aerospace Forces" and i.sources[0] == "my-notes"
    assert len(after.opinions(0x15405A)) == 3


def test_identify_many_equals_identify(identifier: Identifier) -> None:
    rng = np.random.default_rng(1)
    sample = identifier.addresses[rng.integers(0, len(identifier), 3000)].astype(np.int64)
    addr = np.concatenate([sample,
                           rng.integers(0, 1 << 24, 2000), [0x1551E0, 0x3B7777, 0xAE503D]])
    cols = identifier.identify_many(addr)
    for k, a in enumerate(addr.tolist()):
        one = identifier.identify(a)
        got = (cols.registration[k], cols.registration_source[k], cols.type_code[k],
               cols.type_description[k], cols.operator[k], cols.country_code[k],
               bool(cols.military[k]), int(cols.db_flags[k]))
        want = (one.registration, one.registration_source, one.type_code, one.type_description,
                one.operator, one.country_code, one.military, one.db_flags)
        assert got == want, f"{a:06X}"


def test_operator_from_callsign(identifier: Identifier) -> None:
    op = identifier.operator_for_callsign("AFR1234")
    assert op is not None and op.name == "Air France" and op.telephony == "AIRFRANS"
    assert identifier.operator_for_callsign("BAW12AB") is not None
    assert identifier.operator_for_callsign("N12345") is None
    assert identifier.operator_for_callsign("") is None
    i = identifier.identify(0x3C0000 + 0x1234, callsign="DLH4AB")
    assert i.operator is not None


def test_default_without_store(monkeypatch: object, tmp_path: Path) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    mp.setenv("OVERFLIGHT_HOME", str(tmp_path / "none"))
    try:
        ident = Identifier.default()
        assert len(ident) == 0 and ident.identify(0x1551E0).registration == "RA-86496"
    finally:
        mp.undo()
