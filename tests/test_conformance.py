"""API conformance, CI-sized: schemathesis (every check, every phase, every operation) against
``/openapi.json`` of a live ``phishguard serve`` finds no server error and no schema violation.

The harness is ``benchmarks/conformance.py`` (which runs the ≥ 1,000-request version); this test runs
it with a few examples per operation, well within 30 s. Skipped when schemathesis is not installed
(it is in the ``test`` extra).
"""

from __future__ import annotations

import importlib.util

import pytest


pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("schemathesis") is None,
    reason="schemathesis is not installed (pip install -e '.[test]'): API conformance not checked",
)

MAX_EXAMPLES = 3  # per operation and phase: every operation is still tested (~800 requests, 10-20 s)
SEED = 20261123


@pytest.fixture(scope="module")
def harness(conformance_harness):
    return conformance_harness


def test_schemathesis_finds_no_server_error_and_no_schema_violation(harness, tmp_path):
    outcome = harness.conformance(tmp_path, MAX_EXAMPLES, SEED, max_time=20)
    assert outcome.operations == "17", f"not every operation was tested:\n{outcome.summary}"
    assert outcome.server_errors == 0, f"5xx answers: {dict(outcome.statuses)}\n{outcome.summary}"
    assert outcome.failures == 0 and outcome.exit_code == 0, outcome.summary
    assert outcome.generated >= 100 and outcome.requests >= outcome.generated // 2, outcome.summary
