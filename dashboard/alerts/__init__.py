"""Alerting (#18): rules that watch error groups, accounts, keys and the outbox, the
destinations alerts go to (email, chat/incident tools through apprise, signed generic
webhooks), the alert history and its delivery log, and ``/metrics``.

Place in the app graph: the top, beside ``overview``. It reads ``dashboard.calls``
(error groups, call counts), ``dashboard.accounts`` (accounts, credentials, rotations,
checks, and the field encryption for destination secrets) and ``dashboard.events``
(outbox depth and age, events needing a person) through their selectors and models
only. Nothing imports ``dashboard.alerts`` except settings and the root URLconf.
"""
