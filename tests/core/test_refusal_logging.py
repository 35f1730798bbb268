"""An expected 403 is logged as one line, not a traceback (#16 defect 12)."""

from __future__ import annotations

import io
import logging

import pytest
from django.urls import reverse


@pytest.fixture
def console_log():
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


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
