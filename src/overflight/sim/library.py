"""Built-in scenario files (TOML text kept in Python so that they ship in every install).

* ``caracas-2019`` — the story that started Overflight (see the file's description).
* ``larnaca-beirut`` — one A320 gate to gate from Larnaca (LCLK) to Beirut (OLBA) and back,
  heard by receivers in Cyprus and Lebanon: a short, quick check of the whole chain.

``overflight sim NAME --show`` prints a file, to copy and edit (format: ``docs/scenarios.md``).
"""

from __future__ import annotations

__all__ = ["SCENARIO_FILES"]

CARACAS_2019 = """\
# caracas-2019: two Russian Air Force aircraft fly Chkalovsky -> Latakia -> Caracas.
#
# Public reporting (Reuters, AP, Flightradar24 and plane spotters' posts, 23-25 March 2019):
# an Ilyushin Il-62M (RA-86496) and an Antonov An-124-100 (RA-82035) left Chkalovsky air base
# near Moscow on 22 March 2019, stopped in Syria and landed at Simon Bolivar airport
# (Maiquetia, Caracas) on 23 March; the An-124 left Caracas again on 24 March. The times below
# are APPROXIMATE reconstructions consistent with that reporting, not the real timetable;
# routes are great circles, the cruise speeds are the types' typical ones, and the callsigns
# are invented. RA-86496 flies the last part of its approach to Caracas with ADS-B off (Mode S
# replies only), so only multilateration can place it there.

[scenario]
name = "caracas-2019"
description = "Il-62M RA-86496 and An-124-100 RA-82035 (Russian Air Force) to Caracas"
note = "times approximate, reconstructed from public reporting; callsigns invented"
start = 2019-03-22T18:00:00Z
end = 2019-03-25T06:00:00Z
seed = 2019

[background]
aircraft = 2            # mean airborne at once around each receiver region (--background N)
radius_km = 350
address_block = "4CA000-4CAFFF"   # Ireland, civil

# --- Moscow region (Chkalovsky UUMU 55.878 N 38.062 E) ---
[[receiver]]
id = 3001
name = "shchyolkovo"
lat = 55.9050
lon = 38.0100
height_m = 175
ground_m = 150
[[receiver]]
id = 3002
name = "moscow-izmailovo"
lat = 55.7890
lon = 37.7800
height_m = 215
ground_m = 155
[[receiver]]
id = 3003
name = "sergiev-posad"
lat = 56.3100
lon = 38.1300
height_m = 235
ground_m = 220
[[receiver]]
id = 3004
name = "noginsk"
lat = 55.8500
lon = 38.4400
height_m = 160
ground_m = 145
clock = "gps"

# --- Eastern Mediterranean (Latakia / Hmeimim OSLK 35.401 N 35.949 E) ---
[[receiver]]
id = 3101
name = "hatay-yayladagi"     # hill over the coast: sees the ground at OSLK
lat = 35.9030
lon = 36.0600
height_m = 660
ground_m = 0
[[receiver]]
id = 3102
name = "lebanon-tripoli"
lat = 34.4360
lon = 35.8400
height_m = 60
ground_m = 0
[[receiver]]
id = 3103
name = "cyprus-larnaca"
lat = 34.9170
lon = 33.6300
height_m = 40
ground_m = 0
[[receiver]]
id = 3104
name = "cyprus-troodos"
lat = 34.9350
lon = 32.8800
height_m = 1900
ground_m = 0
clock = "gps"
[[receiver]]
id = 3105
name = "turkey-adana"
lat = 36.9900
lon = 35.3300
height_m = 50
ground_m = 20

# --- Caribbean (Maiquetia SVMI 10.601 N 66.991 W) ---
[[receiver]]
id = 3201
name = "caracas-avila"       # the mountain between Caracas and the airport
lat = 10.5450
lon = -66.8700
height_m = 1400
ground_m = 0
[[receiver]]
id = 3202
name = "caracas-city"
lat = 10.4900
lon = -66.8800
height_m = 960
ground_m = 900
[[receiver]]
id = 3203
name = "higuerote"
lat = 10.4700
lon = -66.1000
height_m = 30
ground_m = 0
[[receiver]]
id = 3204
name = "puerto-cabello"
lat = 10.4700
lon = -68.0100
height_m = 30
ground_m = 0
[[receiver]]
id = 3205
name = "los-roques"
lat = 11.9500
lon = -66.6700
height_m = 25
ground_m = 0
clock = "gps"
[[receiver]]
id = 3206
name = "maracay"
lat = 10.2500
lon = -67.6000
height_m = 480
ground_m = 440
[[receiver]]
id = 3207
name = "curacao"
lat = 12.1800
lon = -68.9500
height_m = 40
ground_m = 0
[[receiver]]
id = 3208
name = "trinidad"
lat = 10.6500
lon = -61.5100
height_m = 60
ground_m = 0

[[aircraft]]
icao24 = "1551E0"
registration = "RA-86496"
type = "IL62"
callsign = "RFF7055"
squawk = "2000"
transponder_on_before_min = 20
transponder_off_after_min = 20
[[aircraft.leg]]
from = "UUMU"
to = "OSLK"
off_block = 2019-03-22T20:30:00Z
parked_transponder = "on"     # the 3-hour stop: surface positions while parked
[[aircraft.leg]]
from = "OSLK"
to = "SVMI"
off_block = 2019-03-23T02:40:00Z
arrival_runway = "10"
[[aircraft.adsb_off]]
from = 2019-03-23T14:35:00Z   # about 30 minutes before landing, to the end

[[aircraft]]
icao24 = "154073"
registration = "RA-82035"
type = "A124"
callsign = "RFF7056"
squawk = "2000"
[[aircraft.leg]]
from = "UUMU"
to = "OSLK"
off_block = 2019-03-22T19:40:00Z
parked_transponder = "on"
[[aircraft.leg]]
from = "OSLK"
to = "SVMI"
off_block = 2019-03-23T01:45:00Z
arrival_runway = "10"
[[aircraft.leg]]
from = "SVMI"
to = "OSLK"
off_block = 2019-03-24T15:30:00Z
departure_runway = "28"
"""

LARNACA_BEIRUT = """\
# larnaca-beirut: one A320 gate to gate, Larnaca (LCLK) to Beirut (OLBA) and back after an
# hour on the ground, heard by receivers in Cyprus and Lebanon. Invented; a quick check.

[scenario]
name = "larnaca-beirut"
description = "one A320 LCLK -> OLBA -> LCLK gate to gate, receivers in Cyprus and Lebanon"
start = 2024-06-01T08:00:00Z
duration = "4h"
seed = 7

[[receiver]]
id = 4001
name = "larnaca"
lat = 34.8900
lon = 33.6100
height_m = 30
ground_m = 0
[[receiver]]
id = 4002
name = "troodos"
lat = 34.9350
lon = 32.8800
height_m = 1900
ground_m = 0
[[receiver]]
id = 4003
name = "beirut"
lat = 33.8300
lon = 35.5100
height_m = 90
ground_m = 0
[[receiver]]
id = 4004
name = "tripoli"
lat = 34.4360
lon = 35.8400
height_m = 60
ground_m = 0
clock = "gps"

[[aircraft]]
icao24 = "4CA2B1"
registration = "EI-DVM"
type = "A320"
callsign = "CYP402"
squawk = "4621"
[[aircraft.leg]]
from = "LCLK"
to = "OLBA"
off_block = 2024-06-01T08:30:00Z
parked_transponder = "on"
[[aircraft.leg]]
from = "OLBA"
to = "LCLK"
off_block = 2024-06-01T10:20:00Z
"""

SCENARIO_FILES: dict[str, str] = {
    "caracas-2019": CARACAS_2019,
    "larnaca-beirut": LARNACA_BEIRUT,
}
"""Built-in scenario files by name."""
