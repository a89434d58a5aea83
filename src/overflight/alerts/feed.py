"""The alerts as an Atom feed (RFC 4287) and as a JSON list.

The feed is built with :mod:`xml.etree.ElementTree` (every text escaped) after every
untrusted string went through :func:`overflight.alerts.notify.clean`, which also removes the
characters XML 1.0 cannot carry (control characters), so a callsign such as ``]]>`` or
``<script>`` is plain text in the feed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from overflight.alerts.notify import alert_line, clean

__all__ = ["ATOM_NS", "atom_feed"]

ATOM_NS = "http://www.w3.org/2005/Atom"


def _iso(t: float) -> str:
    from overflight.alerts.engine import _iso as iso

    return iso(t)


def atom_feed(docs: list[dict[str, Any]], *, base_url: str = "/",
              title: str = "Overflight alerts") -> bytes:
    """An Atom document of alert JSON documents (newest first), as UTF-8 bytes."""
    ET.register_namespace("", ATOM_NS)
    q = f"{{{ATOM_NS}}}"
    feed = ET.Element(q + "feed")
    ET.SubElement(feed, q + "title").text = title
    ET.SubElement(feed, q + "id").text = "urn:overflight:alerts"
    updated = max((float(d["time_s"]) for d in docs), default=0.0)
    ET.SubElement(feed, q + "updated").text = _iso(updated) if docs else "1970-01-01T00:00:00Z"
    ET.SubElement(feed, q + "link", rel="self", href=base_url.rstrip("/") + "/alerts.atom")
    author = ET.SubElement(feed, q + "author")
    ET.SubElement(author, q + "name").text = "Overflight"
    for d in docs:
        e = ET.SubElement(feed, q + "entry")
        ET.SubElement(e, q + "id").text = f"urn:overflight:alert:{clean(d['id'])}"
        ET.SubElement(e, q + "title").text = (
            f"{clean(d['rule'])}: {clean(d['icao24'])} {clean(d.get('callsign'))}".strip())
        ET.SubElement(e, q + "updated").text = _iso(float(d["time_s"]))
        ET.SubElement(e, q + "category", term=clean(d.get("kind")))
        ET.SubElement(e, q + "summary", type="text").text = alert_line(d)
        if not d.get("non_icao"):
            ET.SubElement(e, q + "link", rel="related",
                          href=base_url.rstrip("/") + f"/?icao={clean(d['icao24'])}")
    out: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return out
