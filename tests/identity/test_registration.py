"""Registrations derived from the address, measured against the tar1090 database's registrations."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from overflight.identity import registration as reg_mod
from overflight.identity.registration import derivable_mask, derive_registration


@cache
def _registry(path: Path) -> tuple[np.ndarray, list[str], list[str]]:
    addr, regs, flags = [], [], []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split(",", 4)
            addr.append(int(parts[0], 16))
            regs.append(parts[1])
            flags.append(parts[3])
    return np.array(addr), regs, flags


def _same(a: str, b: str) -> bool:
    return a.replace("-", "").upper() == b.replace("-", "").upper()


def test_known_n_numbers() -> None:
    assert reg_mod.n_number(0xA00001) == "N1"
    assert reg_mod.n_number(0xA00002) == "N1A"
    assert reg_mod.n_number(0xA00003) == "N1AA"
    assert reg_mod.n_number(0xADF7C7) == "N99999"
    assert reg_mod.n_number(0xA00000) is None
    assert reg_mod.n_number(0xADF7C8) is None  # ADF7C8 and above: US military block


def test_n_numbers_agree_with_registry_over_all_us_civil_entries(
    shared: Callable[[str], Path],
) -> None:
    addr, regs, _ = _registry(shared("aircraft-db-tar1090/aircraft.csv.gz"))
    sel = np.flatnonzero((addr >= 0xA00001) & (addr <= 0xADF7C7))
    n = agree = 0
    for i in sel.tolist():
        if regs[i]:
            n += 1
            agree += reg_mod.n_number(int(addr[i])) == regs[i]
    print(f"\nN-number agreement: {agree:,}/{n:,} = {agree / n:.4%}")
    assert n > 370_000
    assert agree / n > 0.998


@given(st.integers(0xA00001, 0xADF7C7))
def test_n_number_inverse(address: int) -> None:
    reg = reg_mod.n_number(address)
    assert reg is not None and reg_mod.address_from_n_number(reg) == address


@pytest.mark.parametrize("bad", ["N0", "N1I", "N12345A", "NABC", "N1AAA", "N1234AB", "X123", ""])
def test_n_number_inverse_rejects_malformed(bad: str) -> None:
    assert reg_mod.address_from_n_number(bad) is None


def test_other_states_agree_with_registry(shared: Callable[[str], Path]) -> None:
    """Japan, Korea, Russia numeric and the three-letter blocks, on civil (non-military) rows."""
    addr, regs, flags = _registry(shared("aircraft-db-tar1090/aircraft.csv.gz"))
    us = (addr >= 0xA00000) & (addr <= 0xAFFFFF)
    totals: dict[str, list[int]] = {}
    for i in np.flatnonzero(~us).tolist():
        if not regs[i] or flags[i][:1] == "1":
            continue
        d = reg_mod.derive_registration(int(addr[i]))
        if d is None:
            continue
        scheme = d[:3] if d[2] == "-" or d.startswith(("D-", "F-", "C-")) else d[:2]
        t = totals.setdefault(scheme, [0, 0])
        t[0] += 1
        t[1] += _same(d, regs[i])
    n = sum(t[0] for t in totals.values())
    agree = sum(t[1] for t in totals.values())
    print(f"\nother States: {agree:,}/{n:,} = {agree / n:.4%}; "
          + ", ".join(f"{k} {v[1] / v[0]:.1%} of {v[0]}" for k, v in sorted(totals.items())))
    assert n > 50_000 and agree / n > 0.98
    for scheme, (count, ok) in totals.items():
        if count >= 100:
            assert ok / count > 0.8, scheme


def test_examples_from_the_registry() -> None:
    assert reg_mod.derive_registration(0x1551E0) == "RA-86496"  # numeric Russian block
    assert reg_mod.derive_registration(0xC00001) == "C-FAAA"
    assert reg_mod.derive_registration(0x3B7777) is None  # French military: no algorithm


def test_derivable_mask_covers_every_derived_registration() -> None:
    rng = np.random.default_rng(6)
    addr = np.concatenate([rng.integers(0, 1 << 24, 50000), np.arange(0xA00000, 0xA01000)])
    mask = derivable_mask(addr)
    derived = [derive_registration(a) is not None for a in addr.tolist()]
    assert not any(d and not m for d, m in zip(derived, mask.tolist(), strict=True))
    assert sum(derived) > 1000
