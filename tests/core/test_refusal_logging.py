"""An expected 403 is logged as one line, not a traceback (#16 defect 12)."""

from __future__ import annotations

import io
import logging

import pytest
from django.urls import reverse

from dashboard.core.logging import ExpectedRefusalFilter


@pytest.fixture
def console_log(settings):
    """A handler built as the console handler is (its filters, a formatter that prints
    tracebacks), on the root logger for the test: other tests may reconfigure logging,
    so the test does not depend on finding the process's own handler."""
    config = settings.LOGGING["handlers"]["console"]
    assert "expected_refusals" in config["filters"], "the console handler drops the stack"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ExpectedRefusalFilter())
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_a_refused_page_writes_one_line_without_a_traceback(client_for, marketer, console_log):
    response = client_for(marketer).get(reverse("accounts:connect"))

    assert response.status_code == 403
    written = console_log.getvalue()
    assert "Forbidden" in written
    assert "Traceback" not in written
    assert "PermissionDenied" not in written
    assert len([line for line in written.splitlines() if "Forbidden" in line]) == 1


def test_an_unexpected_error_keeps_its_traceback(console_log):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("django.request").exception("Internal Server Error: /x")
    assert "Traceback" in console_log.getvalue()
