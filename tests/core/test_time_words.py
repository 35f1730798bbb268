"""#16 defect 11: times read as people say them ("just now", not "0 minutes ago")."""

from __future__ import annotations

from datetime import timedelta

from django.template import Context, Template
from django.utils import timezone


def render(moment) -> str:
    return Template("{% load switchyard %}{{ moment|ago }}").render(Context({"moment": moment}))


def test_under_a_minute_is_just_now_with_the_exact_time_on_hover():
    html = render(timezone.now() - timedelta(seconds=20))
    assert ">just now</time>" in html
    assert 'title="' in html
    assert "0 minutes" not in html


def test_older_moments_say_how_long_ago_in_one_unit():
    assert ">5\xa0minutes ago</time>" in render(timezone.now() - timedelta(minutes=5, seconds=3))
    assert ">2\xa0days ago</time>" in render(timezone.now() - timedelta(days=2, hours=3))


def test_no_moment_renders_nothing():
    assert render(None) == ""
