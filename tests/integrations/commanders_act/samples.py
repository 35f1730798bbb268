"""Sample events for the Commanders Act tests."""

from integrations.commanders_act.payloads import encoded_size


def make_event(event_id="evt-1", **fields):
    event = {
        "event_name": "page_view",
        "user": {"id": "12345", "consistent_anonymous_id": "67892"},
        "context": {"event_id": event_id, "event_timestamp": 1639044446636},
    }
    event.update(fields)
    return event


def sized_event(size, event_id="evt-sized"):
    """An event whose compact JSON is exactly ``size`` bytes."""
    event = make_event(event_id=event_id, pad="")
    event["pad"] = "x" * (size - encoded_size(event))
    assert encoded_size(event) == size
    return event
