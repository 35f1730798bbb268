"""Profile look-up, browsing and writes against the sandbox (providers/octy.md)."""

from __future__ import annotations

import pytest

from integrations import errors
from integrations.octy import PROVIDER
from integrations.octy.payloads import NewProfile, PayloadError, ProfileUpdate
from integrations.octy.sandbox import DEMO_SECRETS, create_app
from integrations.sandbox import serve


def test_it_finds_the_shared_demo_customer_by_customer_id(client):
    (ada,) = client.get_profiles(["cust-00001"])
    assert ada.customer_id == "cust-00001"
    assert ada.profile_data["email"] == "ada@example.com"
    assert ada.profile_data["name"] == "Ada Lovelace"
    assert ada.profile_data["phone"] == "+447700900001"
    assert ada.profile_id.startswith("profile_")


def test_it_finds_profiles_by_profile_id_and_customer_id_together(client):
    (ada,) = client.get_profiles(["cust-00001"])
    found = client.get_profiles([ada.profile_id, "cust-00002", "cust-99999999"])
    assert [p.customer_id for p in found] == ["cust-00001", "cust-00002"]


def test_it_returns_no_profiles_when_octy_found_none(client, exchanges):
    assert client.get_profiles(["nobody-here"]) == []
    assert exchanges[-1].status == 400


def test_it_refuses_more_than_100_ids_before_sending(client, exchanges):
    """contract: Octy / 1 to 100 ids per look-up"""
    with pytest.raises(PayloadError):
        client.get_profiles([f"cust-{i:05d}" for i in range(1, 102)])
    assert exchanges == []


def test_it_reads_the_next_cursor_from_the_response_header(client, exchanges):
    """contract: Octy / cursor request and response header"""
    page = client.profiles_page("0")
    assert len(page.profiles) == 100
    assert page.next_cursor == "100"
    assert exchanges[0].request_headers["cursor"] == "0"


def test_it_treats_the_end_of_cursor_400_as_the_end(client, exchanges):
    """contract: Octy / exhausted cursor answered 400"""
    page = client.profiles_page("5000")
    assert page.profiles == []
    assert page.next_cursor is None
    assert exchanges[-1].status == 400
    assert exchanges[-1].problem is None


def test_it_walks_every_profile_without_assuming_a_page_size(sandbox, make_client):
    """contract: Octy / page size not fixed (500 in the doc, 100 in the backend)"""
    # The source doc says 500 per page and the backend pages by 100 [conflict].
    sandbox.app.page_size = 37
    try:
        pages = list(make_client().iter_profiles())
    finally:
        sandbox.app.page_size = 100
    ids = [p.profile_id for page in pages for p in page.profiles]
    assert len(ids) == len(set(ids)) == 5000
    assert {len(page.profiles) for page in pages[:-1]} == {37}


def test_it_resumes_a_listing_from_a_saved_cursor(client):
    first = next(client.iter_profiles())
    resumed = next(client.iter_profiles(first.next_cursor))
    assert resumed.cursor == first.next_cursor
    assert resumed.profiles[0].customer_id == "cust-00101"


def test_it_ends_on_an_empty_page(client):
    # Nothing matches this filter: the sandbox answers an empty list, not the 400.
    assert client.profiles_page("0", rfm="900-999").profiles == []
    assert list(client.iter_profiles(rfm="900-999")) == []


def test_it_filters_by_rfm_churn_and_segment(client):
    pages = list(client.iter_profiles(rfm="400-555", churn_prob="high", segments=["at-risk"]))
    profiles = [p for page in pages for p in page.profiles]
    assert profiles
    segment_id = next(s for s in client.segments().entries if s["segment_name"] == "at-risk")
    for profile in profiles:
        assert 400 <= profile.rfm_score <= 555
        assert profile.churn_prob == "high"
        assert segment_id["segment_id"] in profile.segments


def test_it_validates_filters_before_sending(client, exchanges):
    with pytest.raises(PayloadError, match="churn_prob"):
        client.profiles_page(churn_prob="extreme")
    assert exchanges == []


def test_it_handles_a_100_000_profile_account_cheaply():
    running = serve(create_app(rate_limit_per_minute=None, profile_count=100_000))
    try:
        client = PROVIDER.build_client(base_url=running.url, settings={}, secrets=DEMO_SECRETS)
        last = client.profiles_page("99950")
        assert [p.customer_id for p in last.profiles][-1] == "cust-100000"
        (found,) = client.get_profiles(["cust-77777"])
        assert client.get_profiles([found.profile_id])[0].customer_id == "cust-77777"
        assert client.profiles_page(last.next_cursor).next_cursor is None
    finally:
        running.stop()


def test_it_creates_profiles_and_reports_per_object_failures(client):
    """contract: Octy / partial failures in failed_to_* lists"""
    result = client.create_profiles(
        [NewProfile("new-1", {"name": "New"}, {"platform": "web"}), NewProfile("cust-00002")]
    )
    assert [p.customer_id for p in result.succeeded] == ["new-1"]
    (failure,) = result.failed
    assert failure.identifier == "cust-00002"
    assert failure.index == 1
    assert "already exists" in failure.error_message
    assert client.get_profiles(["new-1"])[0].profile_data == {"name": "New"}


def test_it_raises_with_every_failure_when_nothing_was_created(client):
    """contract: Octy / nothing succeeded: 400 with error.errors"""
    with pytest.raises(errors.InvalidRequest) as caught:
        client.create_profiles([NewProfile("cust-00003"), NewProfile("cust-00004")])
    problem = caught.value.problem
    assert problem.status == 400
    assert [d["identifier"] for d in problem.details] == ["cust-00003", "cust-00004"]
    assert [d["index"] for d in problem.details] == [0, 1]
    assert all("already exists" in d["error_message"] for d in problem.details)
    assert problem.docs_url.startswith("https://octy.ai/docs/")


def test_it_updates_profiles_and_maps_failures_to_their_input(client):
    (ada,) = client.get_profiles(["cust-00001"])
    result = client.update_profiles(
        [
            ProfileUpdate("profile_missing"),
            ProfileUpdate(ada.profile_id, profile_data={"plan": "team"}, status="inactive"),
        ]
    )
    (updated,) = result.succeeded
    assert updated.status == "inactive"
    assert updated.profile_data["plan"] == "team"
    assert updated.profile_data["email"] == "ada@example.com"
    assert [(f.identifier, f.index) for f in result.failed] == [("profile_missing", 0)]


def test_it_moves_a_customer_id_on_update(client):
    (bob,) = client.get_profiles(["cust-00002"])
    client.update_profiles([ProfileUpdate(bob.profile_id, customer_id="crm-bob")])
    assert client.get_profiles(["cust-00002"]) == []
    assert client.get_profiles(["crm-bob"])[0].profile_id == bob.profile_id


def test_it_deletes_profiles_and_reports_the_deleted_state(client):
    (carol,) = client.get_profiles(["cust-00003"])
    result = client.delete_profiles([carol.profile_id, "profile_gone"])
    assert result.succeeded == [carol.profile_id]
    assert [(f.identifier, f.index) for f in result.failed] == [("profile_gone", 1)]
    assert client.get_profiles([carol.profile_id]) == []
    (meta,) = client.profiles_metadata([carol.profile_id])
    assert meta.deleted is True


def test_it_reads_the_generic_identifier_failure_shape(make_client, sandbox):
    """contract: Octy / failure entry shapes (identifier or per-operation key)"""
    # The source doc's {"identifier", "error_message"} [conflict].
    sandbox.app.legacy_failure_shape = True
    try:
        result = make_client().delete_profiles(["profile_a", _profile_id(make_client, 4)])
    finally:
        sandbox.app.legacy_failure_shape = False
    (failure,) = result.failed
    assert failure.raw == {"identifier": "profile_a", "error_message": "Profile not found"}
    assert failure.identifier == "profile_a"
    assert failure.index == 0


def _profile_id(make_client, number):
    return make_client().get_profiles([f"cust-{number:05d}"])[0].profile_id
