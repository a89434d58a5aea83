"""The decoded message: one frozen, typed record per frame (None where a field does not apply)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["MESSAGE_FIELDS", "Message", "build_message"]


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded Mode S reply or extended squitter.

    Units are in the names (``_ft``, ``_kt``, ``_deg``, ``_fpm``, ``_hpa``, ``_m``, ``_s``).
    Positions are not here: decoding is stateless; ``cpr_*`` fields feed
    :mod:`overflight.modes.cpr` in the tracker. The batch decoder's columns carry the same names.

    ``crc_ok`` is True/False for DF11/17/18 (after correction when enabled). For address/parity
    formats (DF0/4/5/16/20/21/24) the address is recovered from the parity: ``crc_ok`` is True when
    an address filter confirmed it, False when a filter was given and did not, None without one.
    """

    df: int
    icao24: str | None = None
    address: int | None = None
    crc_ok: bool | None = None
    time_s: float | None = None
    corrected_bits: int = 0
    address_from_parity: bool = False
    non_icao: bool | None = None
    source: str | None = None
    capability: int | None = None
    flight_status: int | None = None
    downlink_request: int | None = None
    utility_message: int | None = None
    interrogator_id: int | None = None
    sensitivity_level: int | None = None
    reply_information: int | None = None
    on_ground: bool | None = None
    alert: bool | None = None
    spi: bool | None = None
    altitude_ft: int | None = None
    altitude_gnss_ft: int | None = None
    squawk: str | None = None
    typecode: int | None = None
    category: str | None = None
    callsign: str | None = None
    cpr_odd: bool | None = None
    cpr_lat: int | None = None
    cpr_lon: int | None = None
    surface: bool | None = None
    groundspeed_kt: float | None = None
    track_deg: float | None = None
    airspeed_kt: int | None = None
    airspeed_type: str | None = None
    heading_deg: float | None = None
    vertical_rate_fpm: int | None = None
    vertical_rate_source: str | None = None
    gnss_baro_diff_ft: int | None = None
    velocity_subtype: int | None = None
    nuc_p: int | None = None
    nic: int | None = None
    nac_p: int | None = None
    nac_v: int | None = None
    sil: int | None = None
    sil_type: str | None = None
    """SIL supplement of ADS-B version 2 (TC31 v2, TC29 v2): "perhour" or "persample"; None
    when unknown."""
    gva: int | None = None
    nic_baro: int | None = None
    nic_supplement_a: int | None = None
    nic_supplement_b: int | None = None
    nic_supplement_c: int | None = None
    containment_radius_m: float | None = None
    adsb_version: int | None = None
    emergency_state: str | None = None
    selected_altitude_ft: int | None = None
    selected_altitude_source: str | None = None
    baro_setting_hpa: float | None = None
    selected_heading_deg: float | None = None
    autopilot: bool | None = None
    vnav: bool | None = None
    alt_hold: bool | None = None
    approach: bool | None = None
    lnav: bool | None = None
    tcas: bool | None = None
    # Comm-B (DF20/21): filled from overflight.modes.commb when that module is present
    bds: str | None = None
    bds_candidates: tuple[str, ...] = ()
    roll_deg: float | None = None
    true_track_deg: float | None = None
    track_rate_deg_s: float | None = None
    tas_kt: float | None = None
    ias_kt: float | None = None
    mach: float | None = None
    magnetic_heading_deg: float | None = None
    baro_vertical_rate_fpm: float | None = None
    inertial_vertical_rate_fpm: float | None = None
    commb: Any = None
    """The full Comm-B record (``overflight.modes.commb.CommB``) for DF20/21, else None."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (``commb`` left out; its register fields are flattened)."""
        out = {name: getattr(self, name) for name in MESSAGE_FIELDS if name != "commb"}
        out["bds_candidates"] = list(self.bds_candidates)
        if self.commb is not None:
            for f in fields(self.commb):
                out.setdefault(f.name, _plain(getattr(self.commb, f.name)))
                if out[f.name] is None:
                    out[f.name] = _plain(getattr(self.commb, f.name))
        return out


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


MESSAGE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Message))
"""Names of all :class:`Message` fields, in declaration order."""


def _builder_class() -> type:
    """A mutable twin of :class:`Message` with the same slots (its ``__init__`` is ~5x faster).

    The decoder builds the twin and then re-labels the object as a ``Message``: same layout,
    same slots, so the result is an ordinary frozen ``Message``.
    """
    from dataclasses import make_dataclass

    spec = [(f.name, f.type, f) for f in fields(Message)]
    twin = make_dataclass("_MessageBuilder", spec, slots=True, frozen=False, eq=False, repr=False)
    return twin


_Builder: Any = _builder_class()


def build_message(kw: dict[str, Any]) -> Message:
    """Construct a :class:`Message` from field values quickly (fields not given get defaults)."""
    obj = _Builder(**kw)
    obj.__class__ = Message
    return obj  # type: ignore[no-any-return]
