"""plane-alert-db watchlist CSV → registry records (pure parsing, broken rows counted).

Header (column order may vary, extra columns such as image links are ignored)::

    $ICAO,$Registration,$Operator,$Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,$#Tag 3,Category,$#Link

``#CMPG`` is the class (Mil, Civ, Gov, Pol): ``Mil`` is a military opinion, the other classes a
non-military one. Every listed aircraft is "interesting"; the PIA list (``plane-alert-pia.csv``)
also sets the PIA opinion when imported with ``pia=True``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from overflight.identity.registry import RegistryRecord, Rejects, clean_text, parse_address

__all__ = ["WATCH_CLASSES", "is_plane_alert_header", "parse_plane_alert"]

WATCH_CLASSES = ("Mil", "Civ", "Gov", "Pol")


def _key(name: str) -> str:
    return name.strip().lstrip("$#").strip().lower()


def is_plane_alert_header(row: list[str]) -> bool:
    """True for a plane-alert-db header row (first column ``$ICAO``)."""
    return bool(row) and _key(row[0]) == "icao" and row[0].strip().startswith("$")


def parse_plane_alert(
    rows: Iterable[list[str]], rejects: Rejects, pia: bool = False
) -> Iterator[RegistryRecord]:
    """Rows of a plane-alert-db CSV, header first, → records."""
    it = iter(rows)
    header = next(it, None)
    if header is None or not is_plane_alert_header(header):
        rejects.reject("missing plane-alert header", 1)
        return
    col = {_key(h): i for i, h in enumerate(header)}
    need = ["icao"]
    if any(k not in col for k in need):
        rejects.reject("missing plane-alert header", 1)
        return
    seen: set[int] = set()

    def get(row: list[str], name: str) -> str | None:
        i = col.get(name)
        return clean_text(row[i]) if i is not None and i < len(row) else None

    for line_no, row in enumerate(it, start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        rejects.rows += 1
        address = parse_address(row[col["icao"]])
        if address is None:
            rejects.reject("bad address", line_no)
            continue
        if address in seen:
            rejects.reject("duplicate address", line_no)
            continue
        seen.add(address)
        cls = get(row, "cmpg")
        if cls is not None:
            cls = cls.capitalize()
        typ = get(row, "icao type")
        tags = tuple(t for t in (get(row, "tag 1"), get(row, "tag 2"), get(row, "tag 3")) if t)
        yield RegistryRecord(
            icao24=address,
            registration=get(row, "registration"),
            type_code=typ.upper()[:8] if typ else None,
            description=get(row, "type"),
            operator=get(row, "operator"),
            military=(cls == "Mil") if cls in WATCH_CLASSES else None,
            interesting=True,
            pia=True if pia else None,
            watch_class=cls,
            category=get(row, "category"),
            tags=tags,
            link=get(row, "link"),
        )
