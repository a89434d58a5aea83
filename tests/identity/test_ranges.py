"""Country and military blocks: our ICAO table against tar1090's, every difference explained."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from overflight.identity.ranges import (
    MILITARY_BLOCKS,
    block_and_military,
    blocks_and_military,
    country_of,
    country_table,
    military_block_of,
    military_mask,
)

# Where our table (ICAO Annex 10 block sizes) and tar1090's flags.js table legitimately differ.
# 1. tar1090 widens every 1,024-address ICAO block to 2,048. For most States that adds the 1,024
#    addresses after the block; for seven States whose ICAO block is the upper quarter of a 4K slot
#    (Croatia 501C00, Latvia 502C00, Lithuania 503C00, Moldova 504C00, Slovakia 505C00, Slovenia
#    506C00, Uzbekistan 507C00) it adds the 1,024 before it. The registry has no aircraft in any of
#    those extra addresses except where we add an "observed" block ourselves (3.).
TAR1090_WIDENED = {
    "ZW", "BW", "KM", "GW", "LS", "MV", "MR", "MU", "SC", "SL", "SZ", "BJ", "CV", "DJ", "ST", "BB",
    "BZ", "VC", "AG", "GD", "NA", "ER", "CY", "LU", "MT", "MC", "SM", "AL", "HR", "LV", "LT", "MD",
    "SK", "SI", "UZ", "BY", "EE", "MK", "BA", "GE", "TJ", "ME", "AM", "AZ", "KG", "TM", "BT", "FM",
    "MN", "KZ", "PW", "OM", "BN", "SB", "TW", "MH", "CK", "WS", "NR", "LC", "TO", "KI", "VU", "AD",
    "DM", "KN", "SS", "TL", "TV", "",
}
# 2. Qatar: ICAO allocates 06A000-06A3FF (1,024); tar1090 has 06A000-06AFFF. All 545 Qatari
#    aircraft of the registry are inside the ICAO block.
# 3. "observed" blocks: Malta 4D2400-4D27FF, San Marino 500400-5007FF and Mongolia 682400-682FFF
#    are used by those registries (9H-, T7-, JU- aircraft) beyond the ICAO block.
# 4. tar1090's upstream quirk: Cook Islands country code "sk" (Slovakia); ISO says CK.
TAR1090_QUIRK = {"Cook Islands": ("sk", "CK")}


def _tar1090_table(path: Path) -> list[tuple[int, int, str, str]]:
    with path.open(encoding="utf-8") as f:
        return [(int(r["start_hex"], 16), int(r["end_hex"], 16), r["country"], r["country_code"])
                for r in csv.DictReader(f)]


def _tar1090_country(table: list[tuple[int, int, str, str]], address: int) -> str | None:
    for lo, hi, name, code in table:  # first match wins, as in tar1090
        if lo <= address <= hi:
            return TAR1090_QUIRK[name][1] if name in TAR1090_QUIRK else code.upper()
    return None


def test_country_table_matches_tar1090_except_explained(shared: Callable[[str], Path]) -> None:
    tar = _tar1090_table(shared("icao-address-ranges/icao_country_ranges.csv"))
    assert len(tar) == 207
    # every boundary of either table, and the addresses either side of it
    probes = sorted({x for lo, hi, _, _ in tar for x in (lo - 1, lo, hi, hi + 1)}
                    | {x for b in country_table().blocks for x in (b.start - 1, b.start, b.end,
                                                                   b.end + 1)})
    unexplained = []
    for a in probes:
        if not 0 <= a <= 0xFFFFFF:
            continue
        ours = country_of(a)
        our_code = ours.country_code if ours else None
        theirs = _tar1090_country(tar, a)
        if our_code == theirs:
            continue
        if our_code is None and theirs in TAR1090_WIDENED:
            continue  # 1.
        if our_code is None and theirs == "QA":
            continue  # 2.
        if ours is not None and ours.basis == "observed":
            continue  # 3.
        unexplained.append((f"{a:06X}", our_code, theirs))
    assert unexplained == []


def test_widened_halves_are_empty_in_the_registry(shared: Callable[[str], Path]) -> None:
    """Point 1: no registered aircraft sits in the addresses only tar1090 assigns."""
    import pandas as pd

    tar = _tar1090_table(shared("icao-address-ranges/icao_country_ranges.csv"))
    df = pd.read_csv(shared("aircraft-db-tar1090/aircraft.csv.gz"), dtype=str,
                     keep_default_na=False, usecols=["icao24", "registration"])
    addr = np.array([int(h, 16) for h in df["icao24"]])
    ours = country_table().block_index(addr)
    tar_only = np.zeros(len(addr), dtype=bool)
    for lo, hi, _, code in tar:
        if code.upper() in TAR1090_WIDENED and code:
            tar_only |= (addr >= lo) & (addr <= hi)
    tar_only &= ours < 0
    # Oman ground test transponders ("TWR"), one stray Mongolian entry in Kazakhstan's slot, and
    # four Slovak aircraft (OM-) at 5058xx-505Bxx, below Slovakia's ICAO block 505C00-505FFF.
    regs = sorted(set(df["registration"][tar_only]))
    assert tar_only.sum() == 14, regs
    assert {r for r in regs if not r.startswith("OM-")} <= {"TWR", "JU-3367", ""}


def test_registry_country_agrees_with_nationality_marks(shared: Callable[[str], Path]) -> None:
    """Registration prefixes confirm the table: RA-/RF- Russia, 9A- Croatia, YL- Latvia, N US ..."""
    import pandas as pd

    df = pd.read_csv(shared("aircraft-db-tar1090/aircraft.csv.gz"), dtype=str,
                     keep_default_na=False, usecols=["icao24", "registration"])
    addr = np.array([int(h, 16) for h in df["icao24"]])
    codes = country_table().country_codes[country_table().block_index(addr)]
    marks = {"RA-": "RU", "9A-": "HR", "YL-": "LV", "LY-": "LT", "OM-": "SK", "S5-": "SI",
             "9H-": "MT", "A7-": "QA", "B-K": "HK|CN", "C-F": "CA",
             "D-A": "DE", "F-G": "FR", "JA": "JP"}
    for mark, code in marks.items():
        sel = df["registration"].str.startswith(mark).to_numpy()
        agree = float(np.mean(np.isin(codes[sel], code.split("|"))))
        assert sel.sum() > 10 and agree > 0.9, (mark, sel.sum(), agree)


def test_nested_blocks_most_specific_wins() -> None:
    hk, cn = country_of(0x789123), country_of(0x780123)
    assert hk is not None and hk.country_code == "HK" and hk.basis == "national"
    assert cn is not None and cn.country_code == "CN"
    gg, gb = country_of(0x43EB00), country_of(0x43F000)
    assert gg is not None and gg.country_code == "GG"
    assert gb is not None and gb.country_code == "GB"
    assert country_of(0x1551E0) is not None and country_of(0x1551E0).country_code == "RU"  # type: ignore[union-attr]
    assert country_of(0x200000) is None and country_of(-1) is None and country_of(1 << 24) is None


def test_vectorised_country_equals_scalar() -> None:
    rng = np.random.default_rng(7)
    addr = np.concatenate([rng.integers(0, 1 << 24, 20000),
                           [b.start for b in country_table().blocks],
                           [b.end + 1 for b in country_table().blocks]])
    idx = country_table().block_index(addr)
    for a, i in zip(addr.tolist(), idx.tolist(), strict=True):
        block = country_of(a)
        assert (block is None and i == -1) or block is country_table().blocks[i]


def test_military_blocks_match_readsb_list(shared: Callable[[str], Path]) -> None:
    with shared("icao-address-ranges/military_ranges.csv").open() as f:
        labelled = [(int(r["start_hex"], 16), int(r["end_hex"], 16), r["label_from_readsb_comment"])
                    for r in csv.DictReader(f)]
    ranges = json.loads(shared("aircraft-db-tar1090/military_ranges.json").read_text())["military"]
    assert [(int(a, 16), int(b, 16)) for a, b in ranges] == [(s, e) for s, e, _ in labelled]
    assert [(b.start, b.end) for b in MILITARY_BLOCKS] == [(s, e) for s, e, _ in labelled]
    for b, (_, _, label) in zip(MILITARY_BLOCKS, labelled, strict=True):
        # our label names the same State as readsb's comment
        state = b.label.removesuffix(" military").lower().replace("türkiye", "turkey")
        assert state.replace("czechia", "czech republic") in label


def test_military_lookup_scalar_and_vectorised() -> None:
    block = military_block_of(0x3B7777)
    assert block is not None and block.label == "France military"
    assert military_block_of(0xAE503D) is not None  # US military C-40C
    assert military_block_of(0x1551E0) is None  # Russia has no military block
    rng = np.random.default_rng(3)
    addr = np.concatenate([rng.integers(0, 1 << 24, 20000),
                           [x for b in MILITARY_BLOCKS for x in (b.start - 1, b.start, b.end,
                                                                 b.end + 1)]])
    mask = military_mask(addr)
    assert mask.tolist() == [military_block_of(int(a)) is not None for a in addr]


def test_combined_lookup_equals_the_two_tables() -> None:
    bounds = [b.start for b in country_table().blocks] + [b.start for b in MILITARY_BLOCKS]
    bounds += [b.end for b in country_table().blocks] + [b.end for b in MILITARY_BLOCKS]
    rng = np.random.default_rng(5)
    addr = np.concatenate([rng.integers(-3, (1 << 24) + 3, 20000),
                           [x + d for x in bounds for d in (-1, 0, 1)]])
    blocks, mil = blocks_and_military(addr)
    assert np.array_equal(blocks, country_table().block_index(addr))
    assert np.array_equal(mil, military_mask(addr))
    for a in addr.tolist():
        assert block_and_military(a) == (country_of(a), military_block_of(a) is not None)
