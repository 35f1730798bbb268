import logging

import pytest

from integrations.commanders_act import PROVIDER
from integrations.commanders_act.sandbox import DEMO_SECRETS, DEMO_SETTINGS, create_app
from integrations.sandbox import serve


@pytest.fixture(scope="module")
def running():
    # werkzeug logs one line per request; the batch tests send hundreds.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = serve(create_app())
    yield server
    server.stop()


@pytest.fixture
def sandbox(running):
    running.app.reset()
    return running


@pytest.fixture
def exchanges():
    return []


@pytest.fixture
def make_client(sandbox, exchanges):
    def build(secrets=None, settings=None, **session_options):
        return PROVIDER.build_client(
            base_url=sandbox.url,
            settings=settings or DEMO_SETTINGS,
            secrets=secrets or DEMO_SECRETS,
            hook=exchanges.append,
            **session_options,
        )

    return build


@pytest.fixture
def client(make_client):
    return make_client()
