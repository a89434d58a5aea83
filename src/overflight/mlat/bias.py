"""Online timing-bias learning for GPS-synchronised receivers from reference aircraft.

GPS-disciplined receivers share a timescale but still disagree by tens to hundreds of
nanoseconds (cable delays, detector thresholds, firmware). Every ADS-B position heard by three
or more of them is a reference: its known position predicts each propagation time, so each
receiver's time of arrival minus that prediction is its bias plus the (unknown) transmit time.
The transmit time is taken as the median over the receivers of the bias-corrected residuals;
what remains is one sample of each receiver's bias. A receiver's bias is the median of its last
``window`` samples (a robust running estimate: stale reference positions, multipath and wrong
decodes are outliers, and a sample more than ``clip_s`` from the consensus is not kept).

Only differences between receivers are observable; the gauge is "median bias = 0" over the
receivers learned so far (a receiver not yet learned counts as typical, bias 0).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from overflight.mlat.calibrate import truth_residuals_s
from overflight.mlat.receivers import ReceiverRegistry

__all__ = ["OnlineBiases"]

F64 = npt.NDArray[np.float64]


@dataclass(slots=True)
class OnlineBiases:
    """Per-receiver running-median timing biases (seconds) learned from reference positions.

    Args:
        registry: receiver positions (only GPS-synchronised receivers are learned).
        window: samples kept per receiver.
        min_samples: samples before a receiver's bias is published.
        min_receivers: GPS receivers that must hear a reference.
        clip_s: samples further than this from the consensus are outliers, seconds.
    """

    registry: ReceiverRegistry
    window: int = 200
    min_samples: int = 3
    min_receivers: int = 3
    clip_s: float = 400e-9
    references: int = 0
    """References used."""
    outliers: int = 0
    """Samples dropped as further than ``clip_s`` from the consensus."""
    _samples: dict[int, deque[float]] = field(default_factory=dict)
    _bias: dict[int, float] = field(default_factory=dict)

    def add_reference(
        self, position_ecef_m: npt.ArrayLike, receiver_ids: npt.ArrayLike, toa_s: npt.ArrayLike
    ) -> bool:
        """Learn from one transmission at a known ECEF position (m) heard at ``toa_s`` (s, GPS
        time) by ``receiver_ids``; non-GPS receivers are ignored. False when not usable."""
        ids = np.asarray(receiver_ids, dtype=np.int64).ravel()
        t = np.asarray(toa_s, dtype=np.float64).ravel()
        keep = np.array([i in self.registry for i in ids.tolist()], dtype=bool)
        ids, t = ids[keep], t[keep]
        if ids.size == 0:
            return False
        gps = self.registry.gps(ids) & np.isfinite(t)
        ids, t = ids[gps], t[gps]
        if ids.size < self.min_receivers or np.unique(ids).size != ids.size:
            return False
        x = np.asarray(position_ecef_m, dtype=np.float64).reshape(1, 3)
        R = self.registry.ecef_m(ids)[None]
        r = truth_residuals_s(R, t[None], np.ones((1, ids.size), bool), x)[0]
        b = np.array([self._bias.get(int(i), 0.0) for i in ids.tolist()])
        tau = float(np.median(r - b))
        d = r - tau
        good = np.abs(d - b) <= self.clip_s
        self.outliers += int((~good).sum())
        if good.sum() < self.min_receivers:
            return False
        self.references += 1
        for rid, v in zip(ids[good].tolist(), d[good].tolist(), strict=True):
            q = self._samples.get(rid)
            if q is None:
                q = self._samples[rid] = deque(maxlen=self.window)
            q.append(v)
            if len(q) >= self.min_samples:
                self._bias[rid] = float(np.median(np.fromiter(q, np.float64, len(q))))
        return True

    def biases_s(self) -> dict[int, float]:
        """Published biases (seconds), centred so that their median is 0."""
        if not self._bias:
            return {}
        c = float(np.median(np.fromiter(self._bias.values(), np.float64)))
        return {k: v - c for k, v in self._bias.items()}

    def samples(self, receiver_id: int) -> int:
        """Samples currently held for a receiver."""
        q = self._samples.get(receiver_id)
        return 0 if q is None else len(q)
