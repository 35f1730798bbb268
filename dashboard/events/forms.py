from __future__ import annotations

from django import forms

from dashboard.accounts.models import ConnectedAccount
from integrations.provider import Capability
from integrations.registry import providers_with


def track_accounts():
    keys = [p.key for p in providers_with(Capability.TRACK)]
    return ConnectedAccount.objects.filter(provider__in=keys, is_enabled=True).order_by("name")


class ComposeForm(forms.Form):
    account = forms.ModelChoiceField(queryset=ConnectedAccount.objects.none(), empty_label=None)
    event_type = forms.CharField(
        max_length=100,
        required=False,
        help_text="Leave empty to take it from the payload (event_name, type or event_type).",
    )
    payload = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "class": "mono", "spellcheck": "false"}),
        help_text=(
            "The provider's own event body: Croct, the track payload; Commanders Act, a v2 "
            "event (a v1 event is converted); Octy, the event object. Missing ids and "
            "timestamps are filled in."
        ),
    )
    client_id = forms.CharField(
        required=False,
        label="Croct client id",
        help_text="Croct only: the visitor's client id (a UUID); a new one when empty.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = track_accounts()

    def options(self) -> dict:
        client_id = self.cleaned_data.get("client_id", "").strip()
        return {"client_id": client_id} if client_id else {}
