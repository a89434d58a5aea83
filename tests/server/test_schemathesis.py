"""Schemathesis over the served /openapi.json (when schemathesis is installed): generated
requests for every operation, positive and negative, against the live server; no 5xx, and every
answer as the document describes it. ``test_fuzz.py`` is the hand-written fuzz that always runs.

(Schemathesis' own pytest plugin does not load on this pytest, so its strategies are driven by
hypothesis directly.)
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from .conftest import LiveServer

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis not installed (pip install schemathesis); "
    "test_fuzz.py covers the same ground by hand")


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_openapi_document_holds_for_generated_requests(live: LiveServer, mode: str) -> None:
    schema = schemathesis.openapi.from_url(live.url + "/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 10
    tried: set[str] = set()
    for op in operations:
        if mode == "negative" and not op.path_parameters:
            continue  # nothing to get wrong

        @settings(max_examples=40, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy(schemathesis.GenerationMode(mode)))
        def run(case: Any) -> None:
            response = case.call(base_url=live.url, timeout=30)
            assert response.status_code < 500, (case.path, case.path_parameters,
                                                response.text[:200])
            if mode == "positive" and response.status_code == 200:
                case.validate_response(response)
            elif response.status_code >= 400:
                assert response.json()["error"]

        run()
        tried.add(op.path)
    assert tried
