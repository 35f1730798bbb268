import logging

import pytest

from integrations.altcraft import PROVIDER
from integrations.altcraft.sandbox import DEMO_SECRETS, DEMO_SETTINGS, create_app
from integrations.sandbox import serve

TOKEN = DEMO_SECRETS["token"]


@pytest.fixture(scope="module")
def running():
    # werkzeug logs every request line; the tests read better without them.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    sandbox = serve(create_app(profile_count=250))
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(running):
    running.app.reset()
    return running


@pytest.fixture
def exchanges():
    return []


@pytest.fixture
def make_client(sandbox, exchanges):
    def build(fmt="json", secrets=None, **settings):
        return PROVIDER.build_client(
            base_url=sandbox.url,
            settings={**DEMO_SETTINGS, "format": fmt, **settings},
            secrets=secrets or DEMO_SECRETS,
            hook=exchanges.append,
        )

    return build


@pytest.fixture(params=["json", "xml"])
def client(request, make_client):
    return make_client(request.param)
