"""Fixtures: the Octy sandbox served over real HTTP on 127.0.0.1, and clients for it."""

from __future__ import annotations

import pytest

from integrations.octy import PROVIDER
from integrations.octy.sandbox import DEMO_SECRETS, create_app
from integrations.sandbox import serve


@pytest.fixture(scope="module")
def served():
    # Rate limiting off: most tests are about other behaviour; the 429 tests use
    # their own sandbox with it on.
    running = serve(create_app(rate_limit_per_minute=None))
    yield running
    running.stop()


@pytest.fixture
def sandbox(served):
    served.app.reset()
    return served


@pytest.fixture
def exchanges():
    return []


@pytest.fixture
def make_client(sandbox, exchanges):
    def make(secrets=None, **options):
        return PROVIDER.build_client(
            base_url=sandbox.url,
            settings={},
            secrets=secrets or DEMO_SECRETS,
            hook=exchanges.append,
            **options,
        )

    return make


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def url(sandbox):
    return sandbox.url + "/v1/retention/"


@pytest.fixture
def auth():
    return (DEMO_SECRETS["public_key"], DEMO_SECRETS["secret_key"])
