"""A fuzz over the OpenAPI document: every route and every parameter, with hostile values,
over a real socket; no answer may be a 5xx, every refusal is a 4xx JSON error.

Hand-written (hypothesis) rather than schemathesis, so that it runs wherever the test extras
install; the routes and parameters come from the served /openapi.json, so a new route is fuzzed
without touching this file.
"""

from __future__ import annotations

import re
import socket
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import LiveServer, strict_loads

HOSTILE = [
    "", " ", "  ", "\t", "\r\n", "\x00", "%00", "%", "%zz", "%ff", "/", "//", "..", "../..",
    "../../etc/passwd", "..%2f..%2fetc%2fpasswd", "nan", "NaN", "-nan", "inf", "-inf",
    "Infinity", "1e309", "-1e309", "1e-400", "-0", "+0", "0x10", "0b1", "1_0", " 5 ", "٣", "𝟘",
    "１２", "9" * 400, "-" + "9" * 400, "0" * 5000, "1" * 40, "48520a," * 1200, "48520a,",
    ",48520a", ",", ",,,", "~", "~~48520a", "~48520a~", "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>", "' OR 1=1 --", "'; DROP TABLE aircraft; --", "{}",
    "[]", "null", "true", "{\"a\":1}", "\u202e", "\ufeff", "\u0000abc", "é", "ß", "ﬀ", "İ",
    "\U0001f6e9", "A" * 30000, "TRA89M", "PH-HXB", "B738", "7700", "90", "-90", "180",
    "-180", "250", "251", "0", "1e2", "3981e4", "48520A", "43.6", "1.2",
]

_PARAM = re.compile(r"{(\w+)}")

values = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=64),
    st.from_regex(r"[~0-9a-fA-F,.\-+eE ]{0,20}", fullmatch=True),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
)


def _check(r: httpx.Response, what: str) -> None:
    assert r.status_code < 500, f"{what}: {r.status_code} {r.text[:200]}"
    if 400 <= r.status_code < 500 and r.status_code != 414:
        doc = strict_loads(r.content)
        assert isinstance(doc.get("error"), str) and isinstance(doc.get("msg"), str), what
    elif r.status_code == 200 and r.headers.get("content-type") == "application/json" \
            and r.request.method == "GET":
        strict_loads(r.content)


@pytest.fixture(scope="module")
def spec(live: LiveServer) -> dict[str, Any]:
    doc = strict_loads(live.get("/openapi.json").content)
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def client(live: LiveServer) -> Any:
    with httpx.Client(base_url=live.url, timeout=30) as c:
        yield c


def test_every_route_and_parameter_with_hostile_values(
    spec: dict[str, Any], client: httpx.Client
) -> None:
    paths = sorted(spec["paths"])
    assert any(_PARAM.search(p) for p in paths)
    seen: set[tuple[str, str]] = set()

    @settings(max_examples=400, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(paths), st.data(), st.booleans())
    def run(path: str, data: st.DataObject, encode: bool) -> None:
        url = path
        for name in _PARAM.findall(path):
            v = data.draw(values, label=name)
            seen.add((path, name))
            url = url.replace("{" + name + "}", quote(v, safe="") if encode else
                              quote(v, safe="/%,~:+"))
        _check(client.get(url), url[:200])

    run()
    every = {(p, n) for p in paths for n in _PARAM.findall(p)}
    assert seen == every  # every parameter of every route was fuzzed


@pytest.mark.parametrize("value", HOSTILE)
def test_each_hostile_value_in_each_parameter(
    value: str, spec: dict[str, Any], client: httpx.Client
) -> None:
    for path in spec["paths"]:
        names = _PARAM.findall(path)
        for name in names:
            url = path
            for other in names:
                url = url.replace("{" + other + "}", quote(value, safe="") if other == name
                                  else {"lat": "43.6", "lon": "1.2", "radius_nm": "50"}.get(
                                      other, "48520a"))
            _check(client.get(url), url[:200])


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_other_methods_are_refused_as_json(
    method: str, spec: dict[str, Any], client: httpx.Client
) -> None:
    for path in spec["paths"]:
        url = path.replace("{lat}", "1").replace("{lon}", "2").replace("{radius_nm}", "3")
        url = _PARAM.sub("48520a", url)
        r = client.request(method, url, content=b"\x00" * 100)
        assert r.status_code == 405, (method, url)
        _check(r, f"{method} {url}")


@pytest.mark.parametrize("raw", [
    b"GET /v2/reg/%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v2/reg/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v2/hex/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v2/point/1/2/3?" + b"a=" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /data/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /ws/aircraft HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n",
    b"GARBAGE\r\n\r\n",
])
def test_malformed_requests_get_no_5xx(live: LiveServer, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", live.http_port), timeout=10) as s:
        s.sendall(raw)
        head = b""
        while b"\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
    if head:  # a connection closed without an answer is a refusal too
        status = int(head.split(b" ", 2)[1])
        assert status < 500, (raw[:80], head[:200])
