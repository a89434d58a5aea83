"""Evidence reports a journalist can publish: ``overflight report`` (see :mod:`.build` for what
is gathered from history and :mod:`.render` for the HTML, Markdown, map, KML and GeoJSON)."""

from overflight.report.build import FrameRef, Leg, Report, build_report
from overflight.report.render import map_svg, render_html, render_markdown, write_report

__all__ = [
    "FrameRef",
    "Leg",
    "Report",
    "build_report",
    "map_svg",
    "render_html",
    "render_markdown",
    "write_report",
]
