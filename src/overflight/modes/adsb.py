"""ADS-B extended squitter (DF17/18 ME field) sub-fields: one small function per quantity.

Every function takes the 56-bit ME field ``me`` as a Python ``int`` or a NumPy int64/uint64 array
and uses only shifts, masks and arithmetic, so the scalar and the batch decoder share one
definition. Conversions to physical units are separate functions that take the raw fields
(signed arithmetic: pass ints or int64 arrays). Bit positions in comments are ME bits 1-56.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "acas_ra_bits",
    "airborne_altitude_code",
    "airborne_nic_b",
    "airborne_surveillance_status",
    "airspeed_kt",
    "airspeed_raw",
    "airspeed_type_tas",
    "callsign_bits",
    "cpr_format_odd",
    "cpr_lat",
    "cpr_lon",
    "cpr_time_flag",
    "emergency_code",
    "emergency_subtype",
    "emitter_ca",
    "gnss_altitude_ft",
    "gnss_baro_diff_ft",
    "gnss_baro_diff_raw",
    "gnss_baro_diff_sign",
    "heading_raw",
    "heading_status",
    "opstatus_capability_class",
    "opstatus_gva",
    "opstatus_hrd",
    "opstatus_nac_p",
    "opstatus_nic_a",
    "opstatus_nic_baro",
    "opstatus_nic_c",
    "opstatus_operational_mode",
    "opstatus_sil",
    "opstatus_sil_supplement",
    "opstatus_subtype",
    "opstatus_version",
    "squawk_id13",
    "surface_movement",
    "surface_track_deg",
    "surface_track_raw",
    "surface_track_status",
    "target_state_subtype",
    "ts1_heading_raw",
    "ts1_horizontal_source",
    "ts1_nac_p",
    "ts1_nic_baro",
    "ts1_sil",
    "ts1_target_altitude_raw",
    "ts1_vertical_source",
    "ts2_altitude_hold",
    "ts2_approach",
    "ts2_autopilot",
    "ts2_baro_raw",
    "ts2_baro_setting_hpa",
    "ts2_heading_deg",
    "ts2_heading_raw",
    "ts2_heading_status",
    "ts2_lnav",
    "ts2_mode_status",
    "ts2_nac_p",
    "ts2_nic_baro",
    "ts2_selected_altitude_ft",
    "ts2_selected_altitude_raw",
    "ts2_selected_altitude_source_fms",
    "ts2_sil",
    "ts2_sil_supplement",
    "ts2_tcas",
    "ts2_vnav",
    "typecode",
    "velocity_ew",
    "velocity_ew_sign",
    "velocity_heading_deg",
    "velocity_nac_v",
    "velocity_ns",
    "velocity_ns_sign",
    "velocity_subtype",
    "vertical_rate_fpm",
    "vertical_rate_raw",
    "vertical_rate_sign",
    "vertical_rate_source_baro",
]

# The helpers are typed loosely (Any): they serve ints and NumPy arrays alike.


def typecode(me: Any) -> Any:
    """Type code, ME bits 1-5."""
    return me >> 51


# -------------------------------------------------- TC 1-4: identification and category


def emitter_ca(me: Any) -> Any:
    """Emitter category number within the type code's set, ME bits 6-8."""
    return (me >> 48) & 0x7


def callsign_bits(me: Any) -> Any:
    """The 48-bit callsign field, ME bits 9-56."""
    return me & 0xFFFFFFFFFFFF


# -------------------------------------------------- CPR (TC 5-8, 9-18, 20-22)


def cpr_time_flag(me: Any) -> Any:
    """T: UTC-synchronised time flag, ME bit 21."""
    return (me >> 35) & 0x1


def cpr_format_odd(me: Any) -> Any:
    """F: CPR format (1 odd, 0 even), ME bit 22."""
    return (me >> 34) & 0x1


def cpr_lat(me: Any) -> Any:
    """17-bit CPR latitude, ME bits 23-39."""
    return (me >> 17) & 0x1FFFF


def cpr_lon(me: Any) -> Any:
    """17-bit CPR longitude, ME bits 40-56."""
    return me & 0x1FFFF


# -------------------------------------------------- TC 5-8: surface position


def surface_movement(me: Any) -> Any:
    """7-bit movement (ground speed) code, ME bits 6-12."""
    return (me >> 44) & 0x7F


def surface_track_status(me: Any) -> Any:
    """Ground track valid flag, ME bit 13."""
    return (me >> 43) & 0x1


def surface_track_raw(me: Any) -> Any:
    """7-bit ground track, ME bits 14-20."""
    return (me >> 36) & 0x7F


def surface_track_deg(raw: Any) -> Any:
    """Ground track in degrees from the 7-bit code (360/128 deg resolution)."""
    return raw * (360.0 / 128.0)


# -------------------------------------------------- TC 9-18, 20-22: airborne position


def airborne_surveillance_status(me: Any) -> Any:
    """SS, ME bits 6-7 (0 none, 1 permanent alert, 2 temporary alert, 3 SPI)."""
    return (me >> 49) & 0x3


def airborne_nic_b(me: Any) -> Any:
    """NIC supplement B (v2) / single antenna flag (v0, v1), ME bit 8."""
    return (me >> 48) & 0x1


def airborne_altitude_code(me: Any) -> Any:
    """12-bit altitude field, ME bits 9-20 (AC12 for TC 9-18; GNSS height in m for TC 20-22)."""
    return (me >> 36) & 0xFFF


def gnss_altitude_ft(code: Any) -> Any:
    """GNSS height in feet (truncated) of a TC 20-22 altitude field given in metres."""
    return (code * 3.28084).astype("int64") if hasattr(code, "astype") else int(code * 3.28084)


# -------------------------------------------------- TC 19: airborne velocity


def velocity_subtype(me: Any) -> Any:
    """Velocity subtype 1-4, ME bits 6-8."""
    return (me >> 48) & 0x7


def velocity_nac_v(me: Any) -> Any:
    """NACv, ME bits 11-13."""
    return (me >> 43) & 0x7


def velocity_ew_sign(me: Any) -> Any:
    """East-west direction (1 west), ME bit 14 (subtypes 1, 2)."""
    return (me >> 42) & 0x1


def velocity_ew(me: Any) -> Any:
    """East-west velocity code (0 n/a, else speed+1), ME bits 15-24."""
    return (me >> 32) & 0x3FF


def velocity_ns_sign(me: Any) -> Any:
    """North-south direction (1 south), ME bit 25."""
    return (me >> 31) & 0x1


def velocity_ns(me: Any) -> Any:
    """North-south velocity code (0 n/a, else speed+1), ME bits 26-35."""
    return (me >> 21) & 0x3FF


def heading_status(me: Any) -> Any:
    """Heading available, ME bit 14 (subtypes 3, 4)."""
    return (me >> 42) & 0x1


def heading_raw(me: Any) -> Any:
    """10-bit magnetic heading, ME bits 15-24 (subtypes 3, 4)."""
    return (me >> 32) & 0x3FF


def velocity_heading_deg(raw: Any) -> Any:
    """Heading in degrees from the 10-bit code (360/1024 deg resolution)."""
    return raw * (360.0 / 1024.0)


def airspeed_type_tas(me: Any) -> Any:
    """Airspeed type (1 TAS, 0 IAS), ME bit 25 (subtypes 3, 4)."""
    return (me >> 31) & 0x1


def airspeed_raw(me: Any) -> Any:
    """Airspeed code (0 n/a, else speed+1), ME bits 26-35 (subtypes 3, 4)."""
    return (me >> 21) & 0x3FF


def airspeed_kt(raw: Any, subtype: Any) -> Any:
    """Airspeed in knots from the 10-bit code; supersonic subtype 4 counts in 4 kt."""
    return (raw - 1) * (1 + 3 * (subtype == 4))


def vertical_rate_source_baro(me: Any) -> Any:
    """Vertical rate source (1 barometric, 0 GNSS), ME bit 36."""
    return (me >> 20) & 0x1


def vertical_rate_sign(me: Any) -> Any:
    """Vertical rate sign (1 down), ME bit 37."""
    return (me >> 19) & 0x1


def vertical_rate_raw(me: Any) -> Any:
    """Vertical rate code (0 n/a), ME bits 38-46."""
    return (me >> 10) & 0x1FF


def vertical_rate_fpm(sign: Any, raw: Any) -> Any:
    """Vertical rate in ft/min: 64 ft/min steps, negative when descending."""
    return (1 - 2 * sign) * (raw - 1) * 64


def gnss_baro_diff_sign(me: Any) -> Any:
    """GNSS minus baro sign (1 GNSS below baro), ME bit 49."""
    return (me >> 7) & 0x1


def gnss_baro_diff_raw(me: Any) -> Any:
    """GNSS minus baro code (0 n/a), ME bits 50-56."""
    return me & 0x7F


def gnss_baro_diff_ft(sign: Any, raw: Any) -> Any:
    """GNSS height minus barometric altitude in feet (25 ft steps)."""
    return (1 - 2 * sign) * (raw - 1) * 25


# -------------------------------------------------- TC 28: aircraft status


def emergency_subtype(me: Any) -> Any:
    """TC28 subtype (1 emergency/priority, 2 ACAS RA broadcast), ME bits 6-8."""
    return (me >> 48) & 0x7


def emergency_code(me: Any) -> Any:
    """Emergency/priority state 0-7, ME bits 9-11."""
    return (me >> 45) & 0x7


def squawk_id13(me: Any) -> Any:
    """13-bit Mode A identity, ME bits 12-24."""
    return (me >> 32) & 0x1FFF


def acas_ra_bits(me: Any) -> Any:
    """TC28 subtype 2: the 48 ACAS RA bits (same layout as BDS 3,0 bits 9-56)."""
    return me & 0xFFFFFFFFFFFF


# -------------------------------------------------- TC 29: target state and status


def target_state_subtype(me: Any) -> Any:
    """TC29 subtype, ME bits 6-7 (0 DO-260A version 1, 1 DO-260B version 2)."""
    return (me >> 49) & 0x3


def ts2_sil_supplement(me: Any) -> Any:
    """SIL supplement (version 2), ME bit 8: 0 per flight hour, 1 per sample
    (index into :data:`overflight.modes.fields.SIL_TYPES`; DO-260B 2.2.3.2.7.1)."""
    return (me >> 48) & 0x1


def ts2_selected_altitude_source_fms(me: Any) -> Any:
    """Selected altitude type (1 FMS, 0 MCP/FCU), ME bit 9."""
    return (me >> 47) & 0x1


def ts2_selected_altitude_raw(me: Any) -> Any:
    """Selected altitude code (0 n/a), ME bits 10-20."""
    return (me >> 36) & 0x7FF


def ts2_selected_altitude_ft(raw: Any) -> Any:
    """Selected altitude in feet (32 ft steps)."""
    return (raw - 1) * 32


def ts2_baro_raw(me: Any) -> Any:
    """Barometric pressure setting code (0 n/a), ME bits 21-29."""
    return (me >> 27) & 0x1FF


def ts2_baro_setting_hpa(raw: Any) -> Any:
    """Barometric pressure setting (QNH) in hPa: 800 + 0.8 hPa steps."""
    return 800.0 + (raw - 1) * 0.8


def ts2_heading_status(me: Any) -> Any:
    """Selected heading available, ME bit 30."""
    return (me >> 26) & 0x1


def ts2_heading_raw(me: Any) -> Any:
    """Selected heading, sign and 8 bits, ME bits 31-39."""
    return (me >> 17) & 0x1FF


def ts2_heading_deg(raw: Any) -> Any:
    """Selected heading in degrees (180/256 deg resolution)."""
    return raw * (360.0 / 512.0)


def ts2_nac_p(me: Any) -> Any:
    """NACp, ME bits 40-43."""
    return (me >> 13) & 0xF


def ts2_nic_baro(me: Any) -> Any:
    """NIC baro, ME bit 44."""
    return (me >> 12) & 0x1


def ts2_sil(me: Any) -> Any:
    """SIL, ME bits 45-46."""
    return (me >> 10) & 0x3


def ts2_mode_status(me: Any) -> Any:
    """Autopilot mode bits valid, ME bit 47."""
    return (me >> 9) & 0x1


def ts2_autopilot(me: Any) -> Any:
    """Autopilot engaged, ME bit 48."""
    return (me >> 8) & 0x1


def ts2_vnav(me: Any) -> Any:
    """VNAV mode engaged, ME bit 49."""
    return (me >> 7) & 0x1


def ts2_altitude_hold(me: Any) -> Any:
    """Altitude hold mode, ME bit 50."""
    return (me >> 6) & 0x1


def ts2_approach(me: Any) -> Any:
    """Approach mode, ME bit 52."""
    return (me >> 4) & 0x1


def ts2_tcas(me: Any) -> Any:
    """TCAS/ACAS operational, ME bit 53."""
    return (me >> 3) & 0x1


def ts2_lnav(me: Any) -> Any:
    """LNAV mode engaged, ME bit 54."""
    return (me >> 2) & 0x1


def ts1_vertical_source(me: Any) -> Any:
    """Version 1 (DO-260A): vertical data available/source, ME bits 8-9 (0 n/a)."""
    return (me >> 47) & 0x3


def ts1_target_altitude_raw(me: Any) -> Any:
    """Version 1: target altitude code (100 ft steps from -1000 ft), ME bits 14-23."""
    return (me >> 33) & 0x3FF


def ts1_horizontal_source(me: Any) -> Any:
    """Version 1: horizontal data available/source, ME bits 24-25 (0 n/a)."""
    return (me >> 31) & 0x3


def ts1_heading_raw(me: Any) -> Any:
    """Version 1: target heading/track angle in degrees, ME bits 26-34."""
    return (me >> 22) & 0x1FF


def ts1_nac_p(me: Any) -> Any:
    """Version 1: NACp, ME bits 38-41."""
    return (me >> 15) & 0xF


def ts1_nic_baro(me: Any) -> Any:
    """Version 1: NIC baro, ME bit 42."""
    return (me >> 14) & 0x1


def ts1_sil(me: Any) -> Any:
    """Version 1: SIL, ME bits 43-44."""
    return (me >> 12) & 0x3


# -------------------------------------------------- TC 31: operational status


def opstatus_subtype(me: Any) -> Any:
    """TC31 subtype (0 airborne, 1 surface), ME bits 6-8."""
    return (me >> 48) & 0x7


def opstatus_capability_class(me: Any) -> Any:
    """Capability class codes (raw 16 bits), ME bits 9-24."""
    return (me >> 32) & 0xFFFF


def opstatus_operational_mode(me: Any) -> Any:
    """Operational mode codes (raw 16 bits), ME bits 25-40."""
    return (me >> 16) & 0xFFFF


def opstatus_version(me: Any) -> Any:
    """ADS-B version number (0 DO-260, 1 DO-260A, 2 DO-260B), ME bits 41-43."""
    return (me >> 13) & 0x7


def opstatus_nic_a(me: Any) -> Any:
    """NIC supplement A, ME bit 44."""
    return (me >> 12) & 0x1


def opstatus_nac_p(me: Any) -> Any:
    """NACp, ME bits 45-48."""
    return (me >> 8) & 0xF


def opstatus_gva(me: Any) -> Any:
    """Geometric vertical accuracy (airborne, version 2), ME bits 49-50."""
    return (me >> 6) & 0x3


def opstatus_sil(me: Any) -> Any:
    """SIL, ME bits 51-52."""
    return (me >> 4) & 0x3


def opstatus_nic_baro(me: Any) -> Any:
    """NIC baro (airborne; track/heading flag on the surface), ME bit 53."""
    return (me >> 3) & 0x1


def opstatus_hrd(me: Any) -> Any:
    """Heading reference direction (1 magnetic north), ME bit 54."""
    return (me >> 2) & 0x1


def opstatus_sil_supplement(me: Any) -> Any:
    """SIL supplement (version 2), ME bit 55: 0 per flight hour, 1 per sample
    (index into :data:`overflight.modes.fields.SIL_TYPES`)."""
    return (me >> 1) & 0x1


def opstatus_nic_c(me: Any) -> Any:
    """NIC supplement C (surface subtype, version 2), capability class bit 12 = ME bit 20."""
    return (me >> 36) & 0x1
