"""``{% curl_command call as curl %}``: a recorded call as cURL (dashboard/calls/curl.py)."""

from __future__ import annotations

from django import template

from dashboard.calls.curl import CurlCommand, curl_for_call

register = template.Library()


@register.simple_tag
def curl_command(call) -> CurlCommand:
    return curl_for_call(call)
