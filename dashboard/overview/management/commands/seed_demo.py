"""Demo users (one per role), one sandbox account per provider, demo personas and the
slot catalog of each sandbox that serves slots.

It lives in the overview app because it knows every feature (docs/architecture.md).

Passwords are generated once, kept in ``var/demo-users.txt`` (mode 600) and printed
on every run so ``make run`` can show them again. The admin role requires two-factor,
so the demo admin is enrolled with an authenticator-app secret kept in the same file:
add it to an app (or use the printed recovery code, which works once).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import account_connect
from dashboard.core.roles import ROLES, sync_roles
from dashboard.previews.models import Persona
from dashboard.previews.services import catalog_seed, persona_save
from integrations.provider import Capability
from integrations.registry import all_providers

DEMO_PERSONAS = (
    ("Anonymous", "A first visit with nothing known", {}),
    ("Pro shopper", "A customer on the pro plan", {"attributes": {"plan": "pro"}}),
    ("Brazil visitor", "Browsing from São Paulo", {"timeZone": "America/Sao_Paulo"}),
)


class Command(BaseCommand):
    help = "Create demo users and sandbox accounts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    @transaction.atomic
    def handle(self, *args, base_url, **options):
        passwords = self._passwords()
        sync_roles()
        for role in ROLES:
            user, created = User.objects.get_or_create(username=role)
            if created or not user.check_password(passwords[role]):
                user.set_password(passwords[role])
                user.save()
            user.groups.set([Group.objects.get(name=role)])
        for provider in all_providers():
            name = f"{provider.label} (sandbox)"
            url = f"{base_url.rstrip('/')}/sandbox/{provider.key}"
            account = ConnectedAccount.objects.filter(name=name).first()
            if account:
                # The port may differ from the last run.
                if account.base_url != url:
                    account.base_url = url
                    account.save(update_fields=["base_url"])
            else:
                demo_settings, demo_secrets = provider.sandbox_demo_credentials()
                account = account_connect(
                    provider=provider.key,
                    name=name,
                    base_url=url,
                    settings=demo_settings,
                    secrets=demo_secrets,
                    is_demo=True,
                )
            if provider.can(Capability.PREVIEW):
                # The slots the emulator serves, so a fresh console has some to pick.
                catalog_seed(account=account, slots=provider.sandbox_demo_slots())
        self._seed_personas()
        totp_secret, recovery_code = self._enrol_demo_admin(passwords)
        self.stdout.write("Demo users (username / password):")
        for role in ROLES:
            self.stdout.write(f"  {role:<9} {passwords[role]}")
        self.stdout.write(
            "Two-factor for the demo admin (required for admins): add this secret to an "
            f"authenticator app: {totp_secret}\n"
            f"  otpauth://totp/Switchyard:admin?secret={totp_secret}&issuer=Switchyard\n"
            f"  or sign in once with the recovery code {recovery_code}"
        )

    def _enrol_demo_admin(self, stored: dict[str, str]) -> tuple[str, str]:
        """The demo admin's authenticator app (secret kept in var/demo-users.txt) and
        their recovery codes; the first unused one is printed."""
        from allauth.mfa.models import Authenticator
        from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
        from allauth.mfa.totp.internal.auth import TOTP
        from allauth.mfa.utils import decrypt

        admin = User.objects.get(username="admin")
        secret = stored["admin-totp-secret"]
        current = Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).first()
        if current is None or decrypt(current.data["secret"]) != secret:
            if current is not None:
                current.delete()
            TOTP.activate(admin, secret)
        codes = RecoveryCodes.activate(admin).get_unused_codes()
        if not codes:
            Authenticator.objects.filter(
                user=admin, type=Authenticator.Type.RECOVERY_CODES
            ).delete()
            codes = RecoveryCodes.activate(admin).get_unused_codes()
        return secret, codes[0]

    def _passwords(self) -> dict[str, str]:
        path = settings.VAR_DIR / "demo-users.txt"
        stored = {}
        if path.exists():
            for line in path.read_text().splitlines():
                role, _, password = line.partition(" ")
                if role and password:
                    stored[role] = password
        changed = False
        for role in ROLES:
            if role not in stored:
                stored[role] = f"{role}-{secrets.token_urlsafe(9)}"
                changed = True
        if "admin-totp-secret" not in stored:
            from allauth.mfa.totp.internal.auth import generate_totp_secret

            stored["admin-totp-secret"] = generate_totp_secret()
            changed = True
        if changed:
            path.write_text("".join(f"{r} {p}\n" for r, p in stored.items()))
            path.chmod(0o600)
        return stored

    def _seed_personas(self) -> None:
        """A few shared visitor presets matching the Croct sandbox's audiences, so a
        marketer can run a grid on a fresh install (only when none exist yet)."""
        if Persona.objects.exists():
            return
        for name, description, context in DEMO_PERSONAS:
            persona_save(
                name=name, description=description, context=context, identity_mode="random"
            )
