"""Render a :class:`~overflight.report.build.Report`: a map drawn offline as SVG (Natural Earth
borders, the observed track solid — MLAT positions in their own colour —, unobserved stretches
dashed, the airports), HTML (self-contained) and Markdown, plus the track as KML and GeoJSON.

Every string from the air or a registry is untrusted: HTML- and XML-escaped, Markdown table
cells with their markup characters escaped, never a link target.
"""

from __future__ import annotations

import html
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from overflight.report.build import FrameRef, Leg, Report, local_time

__all__ = ["map_svg", "render_html", "render_markdown", "write_report"]

_W, _H = 960, 540
_CTRL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def _clean(v: object) -> str:
    """Text with control and invisible characters shown as ``\\xNN``."""
    s = "" if v is None else str(v)
    return _CTRL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def _h(v: object) -> str:
    return html.escape(_clean(v), quote=True)


def _md(v: object) -> str:
    """A Markdown table cell: markup characters escaped, HTML made inert."""
    s = _clean(v)
    s = re.sub(r"([\\`*_\[\]|<>~])", r"\\\1", s)
    return s


def _utc(t: float | None) -> str:
    if t is None or not math.isfinite(t):
        return ""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# ---------------------------------------------------------------------------- map


class _Projection:
    """Equirectangular around the middle latitude, fitted into the picture with a margin."""

    def __init__(self, lon0: float, lat0: float, lon1: float, lat1: float) -> None:
        pad_x = max((lon1 - lon0) * 0.08, 0.5)
        pad_y = max((lat1 - lat0) * 0.08, 0.5)
        self.lon0, self.lon1 = lon0 - pad_x, lon1 + pad_x
        self.lat0, self.lat1 = max(lat0 - pad_y, -85.0), min(lat1 + pad_y, 85.0)
        self.k = math.cos(math.radians((self.lat0 + self.lat1) / 2))
        span_x = (self.lon1 - self.lon0) * self.k
        span_y = self.lat1 - self.lat0
        self.scale = min(_W / span_x, _H / span_y)
        self.ox = (_W - span_x * self.scale) / 2
        self.oy = (_H - span_y * self.scale) / 2
        # the whole picture's extent (wider or taller than the track's, to keep the aspect)
        self.view = (self.lon0 - self.ox / (self.k * self.scale),
                     self.lat1 + self.oy / self.scale - _H / self.scale,
                     self.lon0 - self.ox / (self.k * self.scale) + _W / (self.k * self.scale),
                     self.lat1 + self.oy / self.scale)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (self.ox + (lon - self.lon0) * self.k * self.scale,
                self.oy + (self.lat1 - lat) * self.scale)


def _path(proj: _Projection, coords: list[tuple[float, float]]) -> str:
    pts = [proj.xy(lon, lat) for lon, lat in coords]
    return "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts)


def _land(proj: _Projection) -> list[str]:
    """Country outlines clipped to the picture (empty when the borders are unavailable)."""
    try:
        import shapely  # type: ignore[import-untyped, unused-ignore]

        from overflight.alerts.places import countries

        box = shapely.box(*proj.view)
        tol = (proj.view[2] - proj.view[0]) / _W
        out = []
        for code, geom in sorted(countries().items()):
            g = shapely.intersection(geom, box)
            if g.is_empty:
                continue
            g = shapely.simplify(g, tol)
            polys = getattr(g, "geoms", [g])
            d = "".join(_path(proj, list(p.exterior.coords)) + "Z"
                        for p in polys if p.geom_type == "Polygon" and not p.is_empty)
            if d:
                out.append(f'<path class="land" d="{d}"><title>{_h(code)}</title></path>')
        return out
    except Exception:
        return []


def map_svg(report: Report) -> str:
    """The map as a standalone SVG document."""
    rows = report.positions.to_pylist() if report.positions.num_rows else []
    pts = [(float(r["lon_deg"]), float(r["lat_deg"])) for r in rows]
    aps = [(a["lon"], a["lat"], code) for code, a in report.airports.items()
           if a.get("lat") is not None and a.get("lon") is not None]
    lons = [p[0] for p in pts] + [a[0] for a in aps] or [0.0]
    lats = [p[1] for p in pts] + [a[1] for a in aps] or [0.0]
    proj = _Projection(min(lons), min(lats), max(lons), max(lats))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" '
        f'width="{_W}" height="{_H}" role="img">',
        "<style>.sea{fill:#dbe9f4}.land{fill:#f4f1ea;stroke:#b9b2a4;stroke-width:.6}"
        ".obs{fill:none;stroke:#d2451e;stroke-width:2}"
        ".mlat{fill:#7b2cbf}.gap{fill:none;stroke:#555;stroke-width:1.5;stroke-dasharray:6 5}"
        ".ap{fill:#1d3557}.lbl{font:12px sans-serif;fill:#1d3557}</style>",
        f'<rect class="sea" width="{_W}" height="{_H}"/>',
        *_land(proj),
    ]
    seg: list[tuple[float, float]] = []
    prev_t: float | None = None
    for r, p in zip(rows, pts, strict=True):
        t = float(r["time_s"])
        if prev_t is not None and t - prev_t > 300.0:
            if len(seg) > 1:
                parts.append(f'<path class="obs" d="{_path(proj, seg)}"/>')
            parts.append(f'<path class="gap" d="{_path(proj, [seg[-1], p])}">'
                         f"<title>not observed {_h(_utc(prev_t))} to {_h(_utc(t))}</title></path>")
            seg = []
        seg.append(p)
        prev_t = t
    if len(seg) > 1:
        parts.append(f'<path class="obs" d="{_path(proj, seg)}"/>')
    for r, p in zip(rows, pts, strict=True):
        if r.get("source") == "mlat":
            x, y = proj.xy(*p)
            parts.append(f'<circle class="mlat" cx="{x:.1f}" cy="{y:.1f}" r="1.6"/>')
    for lon, lat, code in aps:
        x, y = proj.xy(lon, lat)
        parts.append(f'<circle class="ap" cx="{x:.1f}" cy="{y:.1f}" r="4"/>'
                     f'<text class="lbl" x="{x + 6:.1f}" y="{y - 6:.1f}">{_h(code)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------- text

_HOW = {
    "observed": "observed (seen on the ground / rolling)",
    "inferred": "inferred (from the climb or descent seen)",
    "estimated": "estimated (across a gap in coverage)",
    "unknown": "unknown",
}


def _end(leg: Leg, end: str, report: Report) -> dict[str, str]:
    r = leg.row
    code = r.get(f"{end}_airport")
    a = report.airports.get(code or "", {})
    t = r.get(f"{end}_time_s")
    how = r.get(f"{end}_how") or "unknown"
    return {
        "airport": code or "?", "name": a.get("name") or "",
        "airport_how": r.get(f"{end}_airport_how") or "",
        "utc": _utc(t), "local": local_time(t, a.get("tz")),
        "how": _HOW.get(how, how),
    }


def _frame_text(f: FrameRef | None) -> str:
    if f is None:
        return "none stored"
    return (f"seq {f.seq}, receiver {f.receiver}, {_utc(f.time_s)}, "
            f"frame {f.raw_hex}, sha256 {f.sha256}")


def _legs_rows(report: Report) -> list[dict[str, str]]:
    """Each leg's cells, as text (escaped where written)."""
    rows = []
    for i, leg in enumerate(report.legs, 1):
        d, a = _end(leg, "departure", report), _end(leg, "arrival", report)
        rows.append({
            "n": str(i), "dep": d["airport"], "dep_utc": d["utc"], "dep_local": d["local"],
            "dep_how": d["how"], "arr": a["airport"], "arr_utc": a["utc"],
            "arr_local": a["local"], "arr_how": a["how"],
            "sources": ", ".join(f"{k} {v:,}" for k, v in leg.sources.items()) or "none",
            "support": f"{leg.frames:,} frames from {leg.receivers:,} receiver(s)",
            "first": _frame_text(leg.first_frame), "last": _frame_text(leg.last_frame),
            "callsigns": ", ".join(_clean(c) for c in (leg.row.get("callsigns") or [])),
            "gaps": "; ".join(f"{_utc(g.start_s)} to {_utc(g.end_s)}: {g.label}"
                              for g in leg.coverage_gaps) or "none",
            "journey": _journey(leg.journey),
        })
    return rows


def _journey(j: dict[str, Any]) -> str:
    """``leg 2 of 2 (UUMU → OSLK → SVMI), after stop at OSLK, 3.3 h``."""
    if not j:
        return ""
    route = " → ".join(_clean(c) if c else "?" for c in j["route"])
    stop = j.get("stop_before")
    return f"leg {j['leg']} of {j['legs']} ({route})" + (f", after {stop['label']}"
                                                         if stop else "")


def _title(report: Report) -> str:
    reg = report.identity.get("registration")
    return f"{reg + ' / ' if reg else ''}{report.icao24.upper()}"


def _window(report: Report) -> str:
    return f"{_utc(report.start_s) or 'the start'} to {_utc(report.end_s) or 'the end'}"


_IDENTITY_ROWS = (
    ("registration", "registration"), ("registration source", "registration_source"),
    ("type", "type_code"), ("type description", "type_description"),
    ("operator", "operator"), ("country", "country"), ("military", "military"),
    ("why military", "military_reason"), ("watchlist class", "watch_class"),
    ("categories", "categories"), ("tags", "tags"), ("sources", "sources"),
    ("disagreements", "conflicts"),
)


def _ident_value(v: object) -> str:
    if isinstance(v, tuple | list):
        return ", ".join(_clean(x) for x in v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    return _clean(v)


def render_markdown(report: Report) -> str:
    """The report as Markdown (the map as ``map.svg`` beside it)."""
    out = [f"# Evidence report: {_md(_title(report))}", "",
           f"Asked for `{_md(report.query)}` (matched by {report.matched}), {_window(report)}.",
           "All times UTC unless marked local. Values from the air and from registries are "
           "quoted as received.", "", "![map of the track](map.svg)", "",
           "Solid: observed track; dots: MLAT positions; dashed: not observed.", "",
           "## Identity", "", "| field | value |", "|---|---|"]
    for label, key in _IDENTITY_ROWS:
        out.append(f"| {label} | {_md(_ident_value(report.identity.get(key)))} |")
    if report.identity_sources:
        out += ["", "### Sources", "", "| source | kind | registration | type | operator | "
                "military |", "|---|---|---|---|---|---|"]
        for o in report.identity_sources:
            out.append("| " + " | ".join(_md(_ident_value(o.get(k))) for k in (
                "source", "kind", "registration", "type_code", "operator", "military")) + " |")
    out += ["", "## Legs", "", "| # | from | departure (UTC) | local | how | to | arrival (UTC) "
            "| local | how |", "|---|---|---|---|---|---|---|---|---|"]
    rows = _legs_rows(report)
    for r in rows:
        out.append("| " + " | ".join(_md(r[k]) for k in (
            "n", "dep", "dep_utc", "dep_local", "dep_how", "arr", "arr_utc", "arr_local",
            "arr_how")) + " |")
    out += ["", "## Support and provenance", ""]
    for r in rows:
        out += [f"### Leg {r['n']}: {_md(r['dep'])} to {_md(r['arr'])}", "",
                f"- journey: {_md(r['journey'] or 'none')}",
                f"- callsigns: {_md(r['callsigns'] or 'none')}",
                f"- positions by source: {_md(r['sources'])}",
                f"- support: {_md(r['support'])}",
                f"- not observed: {_md(r['gaps'])}",
                f"- first frame: {_md(r['first'])}",
                f"- last frame: {_md(r['last'])}", ""]
    if not rows:
        out.append("No leg stored for this aircraft in this window.")
    out += ["", "Files: `track.kml` (Google Earth, with times), `track.geojson`.", ""]
    return "\n".join(out)


def render_html(report: Report, svg: str) -> str:
    """The report as one self-contained HTML page (the map inline)."""
    rows = _legs_rows(report)
    ident = "".join(f"<tr><th>{_h(label)}</th><td>{_h(_ident_value(report.identity.get(k)))}"
                    "</td></tr>" for label, k in _IDENTITY_ROWS)
    srcs = "".join(
        "<tr>" + "".join(f"<td>{_h(_ident_value(o.get(k)))}</td>" for k in (
            "source", "kind", "registration", "type_code", "operator", "military")) + "</tr>"
        for o in report.identity_sources)
    legs = "".join(
        "<tr>" + "".join(f"<td>{_h(r[k])}</td>" for k in (
            "n", "dep", "dep_utc", "dep_local", "dep_how", "arr", "arr_utc", "arr_local",
            "arr_how")) + "</tr>" for r in rows)
    prov = "".join(
        f"<h3>Leg {_h(r['n'])}: {_h(r['dep'])} to {_h(r['arr'])}</h3><ul>"
        f"<li>journey: {_h(r['journey'] or 'none')}</li>"
        f"<li>callsigns: {_h(r['callsigns'] or 'none')}</li>"
        f"<li>positions by source: {_h(r['sources'])}</li><li>support: {_h(r['support'])}</li>"
        f"<li>not observed: {_h(r['gaps'])}</li><li>first frame: <code>{_h(r['first'])}"
        f"</code></li><li>last frame: <code>{_h(r['last'])}</code></li></ul>" for r in rows)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>Evidence report: {_h(_title(report))}</title><style>"
        "body{font:15px/1.45 sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:3px 7px;text-align:left;vertical-align:top}code{font-size:12px;"
        "word-break:break-all}</style></head><body>"
        f"<h1>Evidence report: {_h(_title(report))}</h1>"
        f"<p>Asked for <code>{_h(report.query)}</code> (matched by {_h(report.matched)}), "
        f"{_h(_window(report))}. All times UTC unless marked local. Values from the air and "
        "from registries are quoted as received.</p>"
        f"<figure>{svg}<figcaption>Solid: observed track; dots: MLAT positions; dashed: not "
        "observed.</figcaption></figure>"
        f"<h2>Identity</h2><table>{ident}</table>"
        + (f"<h3>Sources</h3><table><tr><th>source</th><th>kind</th><th>registration</th>"
           f"<th>type</th><th>operator</th><th>military</th></tr>{srcs}</table>"
           if srcs else "")
        + "<h2>Legs</h2><table><tr><th>#</th><th>from</th><th>departure (UTC)</th>"
        "<th>local</th><th>how</th><th>to</th><th>arrival (UTC)</th><th>local</th>"
        f"<th>how</th></tr>{legs}</table>"
        f"<h2>Support and provenance</h2>{prov or '<p>No leg stored in this window.</p>'}"
        "<p>Files: track.kml (Google Earth, with times), track.geojson.</p>"
        "</body></html>\n"
    )


def write_report(report: Report, out: Path) -> list[Path]:
    """Write ``report.html``, ``report.md``, ``map.svg``, ``track.kml`` and ``track.geojson``
    into ``out`` (created); returns the paths."""
    from overflight.history.export import positions_geojson, positions_kml
    from overflight.jsonout import dumps

    out.mkdir(parents=True, exist_ok=True)
    svg = map_svg(report)
    files = {
        "map.svg": svg,
        "report.md": render_markdown(report),
        "report.html": render_html(report, svg),
        "track.kml": positions_kml(report.positions, f"Overflight: {_clean(_title(report))}"),
        "track.geojson": dumps(positions_geojson(report.positions), sort_keys=True) + "\n",
    }
    paths = []
    for name, text in files.items():
        p = out / name
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    return paths
