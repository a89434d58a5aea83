"""The station: one live runtime (feed hub, batching, decoding, tracking, MLAT, identities, live
flights) that publishes typed updates to subscribers: re-servers, the recorder, history, the
HTTP server, alerts, a message bus.

A file and a live feed go through the same :meth:`Station.process`; readers take immutable
:class:`Snapshot` s of the live picture, never the tracker's own state.
"""

from overflight.station.config import StationConfig
from overflight.station.schema import SCHEMAS
from overflight.station.station import Station, StationStats
from overflight.station.subscriptions import Subscription, SubscriptionStats
from overflight.station.updates import (
    Changed,
    Events,
    Fixes,
    Flights,
    Frames,
    Gone,
    Positions,
    Rejected,
    Snapshot,
    Subscriber,
    Update,
)

__all__ = [
    "SCHEMAS",
    "Changed",
    "Events",
    "Fixes",
    "Flights",
    "Frames",
    "Gone",
    "Positions",
    "Rejected",
    "Snapshot",
    "Station",
    "StationConfig",
    "StationStats",
    "Subscriber",
    "Subscription",
    "SubscriptionStats",
    "Update",
]
