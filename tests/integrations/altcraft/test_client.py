"""The client against the sandbox over real HTTP, in both body formats."""

import pytest
import requests

from integrations import errors
from integrations.altcraft import PROVIDER
from integrations.altcraft.client import ProfilePage
from integrations.altcraft.payloads import BatchItem, PayloadError
from integrations.altcraft.sandbox_data import SHARED_PHONE, seeded_id

ADA_ID = seeded_id(0)


def test_it_gets_the_demo_customer_by_email(client):
    ada = client.get_profile("email", "ada@example.com")
    assert ada.profile_id == ADA_ID
    assert ada.fields["_fname"] == "Ada"
    assert ada.fields["_lname"] == "Lovelace"
    assert ada.fields["customer_id"] == "cust-00001"
    assert ada.phones == ["+447700900999"]
    assert ada.display_name == "Ada Lovelace"


@pytest.mark.parametrize(
    ("matching", "identifier", "field_name"),
    [
        ("phone", "+447700900999", None),
        ("profile_id", ADA_ID, None),
        ("custom", "cust-00001", "customer_id"),
        ("custom", {"field_name": "customer_id", "field_value": "cust-00001"}, None),
        ("email_phone", {"email": "ada@example.com", "phone": "+447700900999"}, None),
    ],
)
def test_it_gets_a_profile_by_every_matching(client, matching, identifier, field_name):
    found = client.get_profile(matching, identifier, field_name=field_name)
    assert found.profile_id == ADA_ID


def test_it_raises_not_found_from_a_body_code_on_http_200(client, exchanges):
    with pytest.raises(errors.NotFound) as caught:
        client.get_profile("email", "nobody@example.com")
    assert caught.value.problem.status == 200
    assert caught.value.problem.provider_code == "404"
    assert exchanges[-1].problem.kind == errors.NOT_FOUND


def test_it_turns_the_shared_phone_into_an_ambiguous_match_with_advice(client):
    with pytest.raises(errors.AmbiguousMatch) as caught:
        client.get_profile("phone", SHARED_PHONE)
    problem = caught.value.problem
    assert problem.provider_code == "435"
    assert "profile_id" in problem.detail
    assert problem.details[0]["matching"] == "phone"


def test_it_reports_a_database_outside_the_resource_as_configuration(make_client):
    with pytest.raises(errors.ConfigurationError) as caught:
        make_client(db_id="1", resource_id="2").get_profile("email", "ada@example.com")
    assert "selected resource" in caught.value.problem.title
    with pytest.raises(errors.ConfigurationError):
        make_client(db_id="99", resource_id="").list_profiles()


def test_it_can_override_the_resource_for_one_lookup(make_client):
    client = make_client(resource_id="")
    assert client.get_profile("email", "ada@example.com", resource_id=1).profile_id == ADA_ID
    with pytest.raises(errors.ConfigurationError):
        client.get_profile("email", "ada@example.com", resource_id=2)


def _list_all(client, limit):
    """The listing loop the sync runs: follow next_from_id until it is None."""
    seen, sizes, cursor = [], [], None
    while True:
        page = client.list_profiles(from_id=cursor, limit=limit)
        sizes.append(len(page.profiles))
        seen += [p.profile_id for p in page.profiles]
        if page.next_from_id is None:
            return seen, sizes
        cursor = page.next_from_id


def test_it_pages_through_the_whole_database_with_the_from_id_cursor(client):
    """contract: Altcraft / list from_id cursor"""
    seen, sizes = _list_all(client, 100)
    # 100 + 100 + 50 + the empty page that ends it: the short page is not the end.
    assert sizes == [100, 100, 50, 0]
    assert len(seen) == len(set(seen)) == 250
    assert seen == sorted(seen)


def test_a_page_shorter_than_the_limit_is_not_the_end(client, sandbox):
    """contract: Altcraft / list page size not promised"""
    sandbox.app.short_pages = True
    page = client.list_profiles(limit=100)
    assert 50 <= len(page.profiles) < 100  # the sandbox served fewer than asked
    assert page.next_from_id == page.profiles[-1].profile_id


def test_a_listing_loop_over_short_pages_reaches_the_last_profile(client, sandbox):
    """contract: Altcraft / list page size not promised"""
    sandbox.app.short_pages = True
    seen, sizes = _list_all(client, 40)
    assert any(0 < size < 40 for size in sizes[:-1])  # short pages before the end
    assert sizes[-1] == 0
    assert seen == [seeded_id(i) for i in range(250)]  # every profile, the last included


def test_it_ends_on_an_empty_page_when_the_count_divides_evenly(client):
    page = client.list_profiles(limit=250)
    assert len(page.profiles) == 250
    assert page.next_from_id == seeded_id(249)
    assert client.list_profiles(from_id=page.next_from_id, limit=250) == ProfilePage([], None)


def test_it_drops_the_cursor_profile_if_the_page_repeats_it(client, sandbox, monkeypatch):
    # Tolerance for an inclusive cursor: fake it by asking the sandbox for one id less.
    original = type(sandbox.app.databases[1]).page

    def inclusive(self, from_id, limit):
        back = seeded_id(int(from_id[8:], 16) - 1) if from_id else None
        return original(self, back, limit)

    monkeypatch.setattr(type(sandbox.app.databases[1]), "page", inclusive)
    page = client.list_profiles(from_id=seeded_id(10), limit=5)
    assert [p.profile_id for p in page.profiles] == [seeded_id(i) for i in range(11, 15)]
    assert page.next_from_id == seeded_id(14)


def test_it_imports_a_new_profile_then_updates_it_in_place(client):
    created = client.import_profile(
        "email", "grace@example.com", {"_fname": "Grace", "phones": ["+12025550123"]}
    )
    again = client.import_profile("email", "grace@example.com", {"_lname": "Hopper"})
    assert again.profile_id == created.profile_id
    assert not again.duplicate
    grace = client.get_profile("profile_id", created.profile_id)
    assert grace.fields == {
        "email": "grace@example.com",
        "_fname": "Grace",
        "phones": ["+12025550123"],
        "_lname": "Hopper",
    }


def test_it_raises_conflict_when_adding_a_taken_email(client):
    with pytest.raises(errors.Conflict) as caught:
        client.add_profile("email", "ada@example.com", {"_fname": "Other"})
    assert caught.value.problem.provider_code == "409"


def test_it_raises_not_found_when_updating_an_unknown_profile(client):
    with pytest.raises(errors.NotFound):
        client.update_profile("email", "ghost@example.com", {"_fname": "Casper"})


def test_it_updates_by_profile_id(client):
    client.update_profile("profile_id", ADA_ID, {"_city": "Paris"})
    assert client.get_profile("email", "ada@example.com").fields["_city"] == "Paris"


def test_it_deletes_and_reports_the_deleted_id(client):
    target = seeded_id(5)
    assert client.delete_profile(target).profile_id == target
    with pytest.raises(errors.NotFound):
        client.get_profile("profile_id", target)
    with pytest.raises(errors.NotFound):
        client.delete_profile(target, request_id="second-attempt")


def test_it_returns_per_object_results_for_batches(client):
    result = client.import_batch(
        [
            BatchItem("email", "ada@example.com", {"_city": "Oxford"}),
            BatchItem("phone", SHARED_PHONE, {"_city": "Nowhere"}),
            {"matching": "email", "identifier": "linus@example.com", "data": {"_fname": "Linus"}},
        ]
    )
    assert [item.ok for item in result.items] == [True, False, True]
    assert result.items[0].profile_id == ADA_ID
    assert result.failed[0].problem.kind == errors.AMBIGUOUS
    assert result.failed[0].problem.details[0]["matching"] == "phone"


def test_add_and_update_batches_report_conflicts_and_misses_per_object(client):
    added = client.add_batch(
        [BatchItem("email", "new1@example.com"), BatchItem("email", "ada@example.com")]
    )
    assert [i.problem.kind if i.problem else None for i in added.items] == [None, errors.CONFLICT]
    updated = client.update_batch(
        [
            BatchItem("email", "new1@example.com", {"x": "1"}),
            BatchItem("email", "no@ex.com", {"x": "1"}),
        ]
    )
    assert [i.problem.kind if i.problem else None for i in updated.items] == [
        None,
        errors.NOT_FOUND,
    ]


def test_it_surfaces_a_repeated_write_as_a_duplicate_that_was_not_applied(client, sandbox):
    """contract: Altcraft / duplicate answer"""
    first = client.add_profile("email", "once@example.com", {"_fname": "Once"}, request_id="r")
    before = sandbox.app.stats()
    # A retry of the same logical write: the caller passes the first attempt's id.
    repeat = client.add_profile("email", "once@example.com", {"_fname": "Once"}, request_id="r")
    after = sandbox.app.stats()
    assert not first.duplicate
    assert first.duplicate_key is None
    assert (first.outcome, first.applied) == ("saved", True)
    assert repeat.duplicate
    assert (repeat.outcome, repeat.applied) == ("duplicate", False)
    assert len(repeat.duplicate_key) == 64
    assert repeat.profile_id == first.profile_id  # the original answer, not a 409
    assert after["profiles"] == before["profiles"]
    assert after["duplicates"] == before.get("duplicates", 0) + 1


def test_a_deliberate_second_write_with_a_new_request_id_is_applied(client):
    """contract: Altcraft / request deduplication (one day)"""
    client.import_profile("email", "twice@example.com", {"visits": "1"}, request_id="a")
    second = client.import_profile("email", "twice@example.com", {"visits": "1"}, request_id="b")
    assert not second.duplicate
    third = client.import_profile("email", "twice@example.com", {"visits": "1"}, request_id="b")
    assert third.duplicate


def test_an_edit_repeating_an_earlier_one_is_sent_so_the_platform_applies_it(client, sandbox):
    """contract: Altcraft / request deduplication (one day)"""
    # The profile page's call: no request id given, as an edit is always deliberate.
    first = client.update_profile("profile_id", ADA_ID, {"_city": "Paris"})
    client.update_profile("profile_id", ADA_ID, {"_city": "Rome"})
    again = client.update_profile("profile_id", ADA_ID, {"_city": "Paris"})
    assert first.request_id != again.request_id
    assert (again.outcome, again.applied) == ("saved", True)
    assert sandbox.app.stats()["updated"] == 3
    assert sandbox.app.stats().get("duplicates", 0) == 0
    assert client.get_profile("profile_id", ADA_ID).fields["_city"] == "Paris"


def test_a_duplicate_batch_answer_is_flagged_not_saved(client):
    """contract: Altcraft / duplicate answer"""
    items = [BatchItem("email", "batch-dup@example.com", {"_fname": "B"})]
    first = client.import_batch(items, request_id="same")
    repeat = client.import_batch(items, request_id="same")
    assert first.outcome == "saved"
    assert (repeat.duplicate, repeat.outcome, repeat.applied) == (True, "duplicate", False)


def test_a_retry_sends_byte_identical_bodies(client, sandbox, monkeypatch):
    sent = []
    http = client.session.http
    original = http.request

    def spy(method, url, data=None, **kwargs):
        sent.append((data, kwargs["headers"]))
        return original(method, url, data=data, **kwargs)

    monkeypatch.setattr(http, "request", spy)
    for _ in range(2):
        client.import_profile("email", "same@example.com", {"b": "2", "a": "1"}, request_id="r1")
    assert sent[0] == sent[1]
    assert sent[0][1]["X-Request-ID"] == "r1"


def test_it_validates_before_sending(client, sandbox):
    before = sandbox.app.request_count
    with pytest.raises(PayloadError, match="data._unknown"):
        client.import_profile("email", "a@example.com", {"_unknown": 1})
    with pytest.raises(PayloadError, match="request_id"):
        client.import_profile("email", "a@example.com", {}, request_id="bad\nid")
    with pytest.raises(PayloadError, match="email"):
        client.get_profile("email", "not-an-email")
    assert sandbox.app.request_count == before


def test_it_refuses_data_that_xml_cannot_carry_before_sending(make_client):
    with pytest.raises(PayloadError, match="data"):
        make_client("xml").import_profile("email", "a@example.com", {"prefs": {"a b": 1}})


def test_it_never_puts_the_token_in_the_url(client, exchanges):
    client.get_profile("email", "ada@example.com")
    assert exchanges[-1].url.endswith("/api/v1.1/profiles/get")
    assert "token" not in exchanges[-1].url


def test_a_missing_write_role_is_an_auth_problem(make_client):
    reader = make_client(secrets={"token": "bfc505684d774e52b1880000feed5ed0"})
    assert reader.get_profile("email", "ada@example.com").profile_id == ADA_ID
    with pytest.raises(errors.AuthError) as caught:
        reader.delete_profile(ADA_ID)
    assert caught.value.problem.provider_code == "403"


def test_a_rejected_token_is_an_auth_problem(make_client):
    client = make_client(secrets={"token": "bfc505684d774e520000dead3cd5ed00"})
    with pytest.raises(errors.AuthError) as caught:
        client.list_profiles()
    assert caught.value.problem.provider_code == "401"
    assert caught.value.problem.status == 200


def test_the_tariff_limit_is_a_quota_problem(client, sandbox):
    sandbox.app.databases[1].limit = sandbox.app.databases[1].alive
    with pytest.raises(errors.QuotaExceeded) as caught:
        client.add_profile("email", "one-too-many@example.com", {})
    assert not caught.value.retryable


# --- transport faults -------------------------------------------------------------


def fault(sandbox, spec):
    response = requests.post(f"{sandbox.url}/_sandbox/faults", json=[spec], timeout=5)
    response.raise_for_status()


def test_an_injected_429_is_rate_limited_with_retry_after(client, sandbox):
    fault(sandbox, {"kind": "rate_limit", "retry_after": 12, "count": 1})
    with pytest.raises(errors.RateLimited) as caught:
        client.list_profiles()
    assert caught.value.retry_after == 12.0
    assert caught.value.retryable


def test_an_injected_503_is_unavailable_and_retryable(client, sandbox):
    fault(sandbox, {"kind": "status", "status": 503, "count": 1})
    with pytest.raises(errors.ProviderUnavailable) as caught:
        client.list_profiles()
    assert caught.value.retryable
    assert caught.value.problem.provider_code == "503"


def test_a_truncated_body_is_malformed(client, sandbox):
    fault(sandbox, {"kind": "malformed", "count": 1})
    with pytest.raises(errors.MalformedResponse):
        client.get_profile("email", "ada@example.com")


def test_a_dropped_connection_is_a_transport_failure(client, sandbox):
    fault(sandbox, {"kind": "reset", "count": 1})
    with pytest.raises(errors.ProviderError) as caught:
        client.list_profiles()
    assert caught.value.retryable


def test_faults_can_target_one_account_by_its_token(make_client, sandbox):
    other = "0123456789abcdef0123456789abcdef"
    fault(sandbox, {"kind": "status", "status": 500, "credential": other, "count": 5})
    assert make_client().list_profiles(limit=1).profiles
    with pytest.raises(errors.ProviderUnavailable):
        make_client(secrets={"token": other}).list_profiles(limit=1)
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=5)


def test_a_token_that_is_not_32_hex_digits_works(make_client):
    """contract: Altcraft / token — any non-empty token without whitespace"""
    token = "prod.Token_with-symbols+/=~42"
    assert PROVIDER.clean_secrets({"token": token}) == {"token": token}
    client = make_client(secrets={"token": token})
    assert client.get_profile("email", "ada@example.com").profile_id == ADA_ID
