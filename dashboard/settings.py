"""Switchyard settings, all from the environment (12-factor).

With no environment at all this runs the embedded default: SQLite (WAL) and a
filesystem Celery broker under ``var/``, a field-encryption key generated once into
``var/``, and the provider sandboxes served under ``/sandbox/``. With
``DJANGO_ENV=production`` it refuses to start without the settings a real deployment
needs (see ``PRODUCTION_REQUIRED``). Every variable is listed in the README.
"""

from __future__ import annotations

import os
import secrets
import sys
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
PRODUCTION_REQUIRED = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "FIELD_ENCRYPTION_KEYS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
)
if PRODUCTION:
    missing = [name for name in PRODUCTION_REQUIRED if not os.environ.get(name)]
    if missing:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs these environment variables: " + ", ".join(missing)
        )

TESTING = "pytest" in sys.modules
if TESTING and not os.environ.get("SWITCHYARD_VAR_DIR"):
    # Each test run gets its own var/: its own broker folders, keys and files, so a
    # test worker never consumes the demo's queued tasks.
    import tempfile

    os.environ["SWITCHYARD_VAR_DIR"] = tempfile.mkdtemp(prefix="switchyard-test-")
VAR_DIR = Path(env.str("SWITCHYARD_VAR_DIR", default=str(BASE_DIR / "var")))
if not PRODUCTION:
    # The embedded default keeps its database, keys, broker messages and customer
    # exports in var/: readable by this user only (#15 item 13).
    os.umask(0o077)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    VAR_DIR.chmod(0o700)


def _generated_once(filename: str, make: callable, warning: str | None = None) -> str:
    """A value generated on first start and kept in ``var/`` (embedded default only)."""
    path = VAR_DIR / filename
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.write_text(value + "\n")
    path.chmod(0o600)
    if warning:
        warnings.warn(warning.format(path=path), stacklevel=2)
    return value


DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or _generated_once(
    "secret_key", lambda: secrets.token_urlsafe(50)
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Newest key first: encryption uses the first, decryption tries them all, so a key is
# rotated by prepending a new one, running `manage.py reencrypt_credentials`, then
# dropping the old one.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or [
    _generated_once(
        "field_encryption.key",
        lambda: Fernet.generate_key().decode(),
        "No FIELD_ENCRYPTION_KEYS set: generated one into {path}. Back it up; losing it "
        "loses every stored provider secret. Set FIELD_ENCRYPTION_KEYS in production.",
    )
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "auditlog",
    "django_structlog",
    "dashboard.core",
    "dashboard.accounts",
    "dashboard.calls",
    "dashboard.previews",
    "dashboard.events",
    "dashboard.profiles",
    "dashboard.alerts",
    # Team and access (#19): django-allauth for the login flow, two-factor (TOTP,
    # recovery codes, WebAuthn), OIDC single sign-on and the active-sessions list.
    "django.contrib.humanize",  # allauth's security-key list uses it
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.usersessions",
    "dashboard.team",
    "dashboard.overview",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before LoginRequiredMiddleware: an idle session is logged out, then sent to login.
    "dashboard.core.idle.IdleTimeoutMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # allauth's UserSessionsMiddleware, at most once a minute per session.
    "dashboard.team.middleware.track_session_activity",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication (and messages, to say why): an admin without a second
    # factor is sent to enrol first.
    "dashboard.team.middleware.admin_mfa_required",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    # Last, as django-axes asks: it turns lockouts into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.core.context_processors.navigation",
            ],
        },
    }
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'switchyard.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets the web process read while the worker writes; IMMEDIATE takes
            # the write lock up front so concurrent writers wait instead of failing.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # Tests get a file, not SQLite's shared in-memory database: there a second
    # connection (the worker thread, the live server) fails at once with "table is
    # locked" instead of waiting its turn as it does on the real file.
    DATABASES["default"].setdefault("TEST", {"NAME": str(VAR_DIR / "test.sqlite3")})
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading a user's permissions in one query, not two.
    "dashboard.core.auth_backend.PermissionsInOneQueryBackend",
    # Logs SSO users in (allauth prefers its own backend for social logins).
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Argon2 first; a PBKDF2 hash still verifies and is re-hashed with Argon2 on login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

# Brute-force protection on the login page.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Either one locks (#15 item 13): many usernames tried from one address (spraying), or
# one username tried from many addresses.
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
# Proxies (addresses or networks) whose X-Forwarded-For is believed; without any the
# client is REMOTE_ADDR and the header is ignored (see dashboard/core/client_ip.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
AXES_CLIENT_IP_CALLABLE = "dashboard.core.client_ip.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Sessions end after this much idle time (each request a person makes pushes the expiry
# forward; a page's own polling does not: dashboard/core/idle.py).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=30) * 60
# Not on every request: the idle middleware (dashboard/core/idle.py) records activity,
# which saves the session and slides its expiry, once a minute at most.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz is probed over plain HTTP by load balancers.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# No inline script or style anywhere: everything is a static file.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production, serve straight from the app folders: no collectstatic step.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Under its own prefix: with Django's empty default, a server that serves media (the
# test live server) looks up every path as a file first, and a path longer than a
# file name may be answered with a 500 instead of the console's page.
MEDIA_URL = "/media/"

# --- Celery ---------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport, writing each message whole before a worker can
    # see it (dashboard/core/broker.py says why).
    CELERY_BROKER_TRANSPORT = "dashboard.core.broker:Transport"
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    # The exchange tables too: kombu's default is ./control, in whatever folder the
    # process started (the repository, under tests).
    _control_dir = VAR_DIR / "celery" / "control"
    for _folder in (_queue_dir, _processed_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    # One folder for in and out: the web process writes where the worker reads.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
        # How long an idle worker sleeps before looking at the folder again. kombu's
        # default is 1 s, which adds up to a second to every task (a preview waited
        # for it); a listing of a small folder every 50 ms costs next to nothing.
        "polling_interval": 0.05,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A task not acknowledged within this time is redelivered (acks_late): it must
    # exceed the hard time limit.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Two queues (#15 finding 5): what a person waits for on the page (a preview, a CQL
# run, an account check or key verification, a customer look-up or profile page) goes to its own
# queue, which the run command and the README give a worker of its own, so a backlog
# of event dispatches, exports, syncs, alerts or sweeps on the default queue never
# holds it up. Every other task goes to the default queue. A worker started without
# -Q consumes both (nothing is stranded by a deployment that runs only one kind).
CELERY_TASK_DEFAULT_QUEUE = "celery"
INTERACTIVE_QUEUE = "interactive"
INTERACTIVE_TASKS = (
    "previews.run_preview",
    "previews.run_evaluation",
    "accounts.run_check",
    "accounts.verify_credential",
    "profiles.lookup",
    # The profile page's fetch, refresh, attribute edit and browse page (#16).
    "profiles.profile_work",
)
# Each queue with its own exchange and routing key, stated rather than left to
# Celery's defaults (which put a bare Queue on the default exchange).
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name), routing_key=name)
    for name in (CELERY_TASK_DEFAULT_QUEUE, INTERACTIVE_QUEUE)
)
CELERY_TASK_ROUTES = {name: {"queue": INTERACTIVE_QUEUE} for name in INTERACTIVE_TASKS}

# --- Switchyard ---------------------------------------------------------------------
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=not PRODUCTION)
# The mounted sandboxes (#15 item 1): injected delays are capped, and at most this many
# sandbox requests run at once (the rest get 503) so they never hold every web thread.
SANDBOX_MAX_FAULT_SECONDS = env.float("SANDBOX_MAX_FAULT_SECONDS", default=5.0)
SANDBOX_MAX_CONCURRENT = env.int("SANDBOX_MAX_CONCURRENT", default=6)
CALL_LOG_RETENTION_DAYS = env.int("CALL_LOG_RETENTION_DAYS", default=30)
# PostgreSQL: daily call-log partitions exist this many days ahead (the beat adds them
# hourly; a DEFAULT partition takes anything outside them). See dashboard/calls/partitions.py.
CALL_LOG_PARTITIONS_AHEAD_DAYS = env.int("CALL_LOG_PARTITIONS_AHEAD_DAYS", default=7)
# "background": call-log rows are inserted in batches by a writer thread per process
# (see dashboard/calls/recorder.py); "inline": on the caller's path. Tests run the
# background writer too (tests/conftest.py: flush_call_log before reading the log).
CALL_LOG_WRITER = env.str("CALL_LOG_WRITER", default="background")
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=3.05)
PROVIDER_READ_TIMEOUT = env.float("PROVIDER_READ_TIMEOUT", default=10.0)
# Networks a provider base URL may resolve to although they are internal (loopback,
# private, link-local...; see integrations/netguard.py). Development allows loopback,
# where the sandboxes answer; production allows nothing unless told.
PROVIDER_ALLOWED_NETWORKS = env.list(
    "PROVIDER_ALLOWED_NETWORKS", default=[] if PRODUCTION else ["127.0.0.0/8", "::1/128"]
)
HEALTHZ_BROKER_TIMEOUT = env.float("HEALTHZ_BROKER_TIMEOUT", default=2.0)

# Periodic work; each feature section below adds its own entries.
CELERY_BEAT_SCHEDULE = {
    "prune-call-log": {"task": "calls.prune", "schedule": 6 * 3600},
    "call-log-partitions-ahead": {"task": "calls.partitions_ahead", "schedule": 3600},
}

# --- Queue sweeping (#9) ------------------------------------------------------------
# Work whose task could not be sent (broker down) waits in the database; the sweeper
# sends it again once it has waited this long (see dashboard/core/queueing.py).
QUEUE_RESEND_AFTER_SECONDS = env.int("QUEUE_RESEND_AFTER_SECONDS", default=120)
# At most this many rows per app per sweep (the rest go at the next one).
QUEUE_RESEND_BATCH = env.int("QUEUE_RESEND_BATCH", default=500)
CELERY_BEAT_SCHEDULE["sweep-waiting-work"] = {"task": "core.sweep", "schedule": 60.0}

# --- Key rotation (#4) ------------------------------------------------------------
# The key a rotation replaces keeps working this long unless the rotation says otherwise.
CREDENTIAL_OVERLAP_HOURS = env.int("CREDENTIAL_OVERLAP_HOURS", default=24)
CREDENTIAL_MAX_OVERLAP_HOURS = env.int("CREDENTIAL_MAX_OVERLAP_HOURS", default=24 * 30)
# Active keys older than this are listed on the Overview as due for rotation.
CREDENTIAL_MAX_AGE_DAYS = env.int("CREDENTIAL_MAX_AGE_DAYS", default=90)
CELERY_BEAT_SCHEDULE["revoke-expired-credentials"] = {
    "task": "accounts.revoke_expired_credentials",
    "schedule": env.int("CREDENTIAL_REVOKE_INTERVAL_SECONDS", default=300),
}

# --- Previews (#5) ----------------------------------------------------------------
# A share link to a stored preview opens for this long (staff still log in to use it).
PREVIEW_SHARE_MAX_AGE = env.int("PREVIEW_SHARE_MAX_AGE", default=7 * 24 * 3600)
# Public share links (#20) open without a login: staff pick 1, 7 or 30 days, never
# more than this many.
PREVIEW_PUBLIC_SHARE_MAX_DAYS = env.int("PREVIEW_PUBLIC_SHARE_MAX_DAYS", default=30)
# Opens of one public link from one address, per minute, before "wait a minute": every
# open writes a row, so a flood from one address must not write without end.
PREVIEW_PUBLIC_SHARE_OPENS_PER_MINUTE = env.int("PREVIEW_PUBLIC_SHARE_OPENS_PER_MINUTE", default=30)

# --- Events (#6) ------------------------------------------------------------------
# Outbox delivery: a dispatcher claims this many due events at a time and holds them
# for the lease; core.sweep re-queues events whose lease ran out (a lost worker).
EVENTS_CLAIM_SIZE = env.int("EVENTS_CLAIM_SIZE", default=5000)
EVENTS_LEASE_SECONDS = env.int("EVENTS_LEASE_SECONDS", default=120)
EVENTS_DISPATCH_BUDGET = env.float("EVENTS_DISPATCH_BUDGET", default=50.0)
EVENTS_MAX_ATTEMPTS = env.int("EVENTS_MAX_ATTEMPTS", default=6)
EVENTS_RETRY_BASE_SECONDS = env.float("EVENTS_RETRY_BASE_SECONDS", default=2.0)
EVENTS_RETRY_MAX_SECONDS = env.float("EVENTS_RETRY_MAX_SECONDS", default=300.0)
EVENTS_RETRY_AFTER_CAP_SECONDS = env.float("EVENTS_RETRY_AFTER_CAP_SECONDS", default=300.0)
EVENTS_REPLAY_CHUNK = env.int("EVENTS_REPLAY_CHUNK", default=50)
# Pacing (#17): requests per second each account may send, shared by every worker
# through the database (events/pacing.py), below each provider's documented comfort
# (providers/commanders-act.md: tell them above 500 req/s; providers/octy.md:
# 120/minute). A provider not listed is unpaced; an account's DeliveryPace row may
# override its rate and concurrency.
EVENTS_RATE_LIMITS = {
    "commanders_act": env.float("EVENTS_COMMANDERS_ACT_REQUESTS_PER_SECOND", default=450.0),
    "octy": env.float("EVENTS_OCTY_REQUESTS_PER_MINUTE", default=100.0) / 60,
}
# Requests one dispatcher keeps in flight per account (over the pooled session).
EVENTS_SEND_CONCURRENCY = env.int("EVENTS_SEND_CONCURRENCY", default=8)
# A send more than this late for its slot gives the slot up and takes a new one, and
# slots are spaced this much wider than 1/rate, so that no one-second window at the
# provider ever holds more than the rate (see events/pacing.py for the arithmetic).
EVENTS_PACE_LATE_SECONDS = env.float("EVENTS_PACE_LATE_SECONDS", default=0.01)
EVENTS_PACE_MARGIN = env.float("EVENTS_PACE_MARGIN", default=0.05)
# A run never waits longer than this for a slot: its events go back to the outbox.
EVENTS_PACE_MAX_WAIT_SECONDS = env.float("EVENTS_PACE_MAX_WAIT_SECONDS", default=5.0)

# --- Profiles (#7) ----------------------------------------------------------------
# A provider value older than this is flagged stale in the unified look-up view.
PROFILES_STALE_AFTER_MINUTES = env.int("PROFILES_STALE_AFTER_MINUTES", default=15)
# Requests per minute a sync may send per account (providers/octy.md: 120/minute per
# client IP; kept below it so look-ups made meanwhile still fit). 0 disables pacing.
PROFILES_RATE_LIMITS = {"octy": env.float("PROFILES_OCTY_REQUESTS_PER_MINUTE", default=100)}
PROFILES_RATE_BURST = env.int("PROFILES_RATE_BURST", default=5)
PROFILES_RETRY_AFTER_MAX = env.float("PROFILES_RETRY_AFTER_MAX", default=60)
# A sync or export task works this long, saves its cursor and queues the next slice
# (stays well inside CELERY_TASK_SOFT_TIME_LIMIT).
PROFILES_JOB_SLICE_SECONDS = env.int("PROFILES_JOB_SLICE_SECONDS", default=60)
# Page size of a sync where the provider lets the console choose one (the old
# PROFILES_ALTCRAFT_PAGE_SIZE is still read).
PROFILES_SYNC_PAGE_SIZE = env.int(
    "PROFILES_SYNC_PAGE_SIZE", default=env.int("PROFILES_ALTCRAFT_PAGE_SIZE", default=500)
)
PROFILES_EXPORT_PAGE_SIZE = env.int("PROFILES_EXPORT_PAGE_SIZE", default=1000)
PROFILES_EXPORT_DIR = Path(env.str("PROFILES_EXPORT_DIR", default=str(VAR_DIR / "exports")))
# Jobs with no progress saved for this long, and look-ups still queued, are queued again.
PROFILES_STALLED_AFTER_SECONDS = env.int("PROFILES_STALLED_AFTER_SECONDS", default=300)

# --- Error groups and operations (#8) ---------------------------------------------
# A group stays "new" until it recurs this long after it was first seen.
ERROR_GROUP_NEW_HOURS = env.int("ERROR_GROUP_NEW_HOURS", default=24)
# Affected events/previews/profiles kept per group (the count stops there: "1000+").
ERROR_GROUP_SUBJECT_LIMIT = env.int("ERROR_GROUP_SUBJECT_LIMIT", default=1000)
# Errors page live updates (seconds between polls of the first page).
ERRORS_POLL_SECONDS = env.int("ERRORS_POLL_SECONDS", default=15)
# Documented provider limits the Overview measures request volume against
# (providers/commanders-act.md: 500 req/s notice; providers/octy.md: 120/minute).
PROVIDER_RATE_LIMITS = {
    # ``note`` is what the Overview prints beside the figure (words, not a doc path).
    "commanders_act": {
        "requests": 500,
        "per_seconds": 1,
        "note": "not a hard limit: Commanders Act asks to be told before you go above it",
    },
    "octy": {"requests": 120, "per_seconds": 60, "note": "Octy's documented limit"},
}
# Synthetic health check: a verify call per enabled, verifiable account.
SYNTHETIC_CHECK_SECONDS = env.int("SYNTHETIC_CHECK_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["synthetic-account-checks"] = {
    "task": "accounts.synthetic_checks",
    "schedule": SYNTHETIC_CHECK_SECONDS,
}
CELERY_BEAT_SCHEDULE["fold-straggler-failures"] = {
    "task": "calls.fold_stragglers",
    "schedule": 600,
}

# --- Mail (alert emails #18, invitations #19) ---------------------------------------
# On the embedded default every message is written as a file to var/mail/.
# EMAIL_URL like smtp+tls://user:password@mail.example.com:587 (django-environ's forms).
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
if os.environ.get("EMAIL_URL"):
    _email = env.email_url("EMAIL_URL")
    # django-environ reads filemail:///abs/path as a relative path: keep it absolute.
    if _email.get("EMAIL_FILE_PATH"):
        _email["EMAIL_FILE_PATH"] = "/" + _email["EMAIL_FILE_PATH"].lstrip("/")
    else:
        _email.pop("EMAIL_FILE_PATH", None)
    EMAIL_BACKEND = _email.pop("EMAIL_BACKEND")
    EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
    EMAIL_PORT = _email.get("EMAIL_PORT") or 25
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
    EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
    EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH", EMAIL_FILE_PATH)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="switchyard@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Team and access (#19) ----------------------------------------------------------
# An invitation link works once, for this long.
TEAM_INVITE_MAX_AGE_HOURS = env.int("TEAM_INVITE_MAX_AGE_HOURS", default=72)

# django-allauth: staff sign in with a username; nobody signs up on their own.
ACCOUNT_ADAPTER = "dashboard.team.adapters.StaffAccountAdapter"
SOCIALACCOUNT_ADAPTER = "dashboard.team.adapters.StaffSocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_FORMS = {"login": "dashboard.team.forms.StaffLoginForm"}
# No "remember me": the session ends with the browser and after SESSION_IDLE_MINUTES.
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_REDIRECT_URL = LOGOUT_REDIRECT_URL
# django-axes is the one lock-out (password and second factor, see team/forms.py);
# allauth's own cache-based limits would answer first with a different page.
ACCOUNT_RATE_LIMITS = False
MFA_ADAPTER = "dashboard.team.adapters.StaffMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_FORMS = {
    "authenticate": "dashboard.team.forms.LockingAuthenticateForm",
    "reauthenticate": "dashboard.team.forms.LockingReauthenticateForm",
}
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Switchyard")
# The code of the period just before also counts (allauth's default is the current one
# only): a code typed as it turns over is not refused, as GitHub and most apps allow.
MFA_TOTP_TOLERANCE = 1
MFA_RECOVERY_CODE_COUNT = 10
MFA_RECOVERY_CODES_SHOW_ONCE = True
MFA_PASSKEY_LOGIN_ENABLED = False
# WebAuthn needs a secure context: localhost, or HTTPS in production.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION
USERSESSIONS_TRACK_ACTIVITY = True

# Single sign-on (OIDC), off unless OIDC_ISSUER is set.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_ROLE_CLAIM = env.str("OIDC_ROLE_CLAIM", default="groups")
# "sy-admins=admin,sy-support=support": group claim value -> console role.
OIDC_ROLE_MAP = env.dict("OIDC_ROLE_MAP", default={})
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": "sso",
                "name": env.str("OIDC_NAME", default="single sign-on"),
                "client_id": env.str("OIDC_CLIENT_ID", default=""),
                "secret": env.str("OIDC_CLIENT_SECRET", default=""),
                "settings": {"server_url": OIDC_ISSUER},
            }
        ]
        if OIDC_ISSUER
        else [],
    }
}

# --- Alerts (#18) ----------------------------------------------------------------
# Links in alerts point here (the console as its users reach it).
CONSOLE_BASE_URL = env.str("CONSOLE_BASE_URL", default="http://127.0.0.1:8000")
ALERTS_EVALUATE_SECONDS = env.int("ALERTS_EVALUATE_SECONDS", default=60)
ALERTS_CONNECT_TIMEOUT = env.float("ALERTS_CONNECT_TIMEOUT", default=3.05)
ALERTS_SEND_TIMEOUT = env.float("ALERTS_SEND_TIMEOUT", default=5.0)
ALERTS_MAX_ATTEMPTS = env.int("ALERTS_MAX_ATTEMPTS", default=5)
ALERTS_RETRY_BASE_SECONDS = env.float("ALERTS_RETRY_BASE_SECONDS", default=30.0)
ALERTS_RETRY_MAX_SECONDS = env.float("ALERTS_RETRY_MAX_SECONDS", default=1800.0)
ALERTS_DELIVERY_LEASE_SECONDS = env.int("ALERTS_DELIVERY_LEASE_SECONDS", default=60)
# More alerts than this from one rule in one pass go out as one digest.
ALERTS_DIGEST_AFTER = env.int("ALERTS_DIGEST_AFTER", default=3)
CELERY_BEAT_SCHEDULE["run-alerts"] = {"task": "alerts.run", "schedule": ALERTS_EVALUATE_SECONDS}
# /metrics answers only with "Authorization: Bearer <METRICS_TOKEN>"; unset: 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_LATENCY_SAMPLE = env.int("METRICS_LATENCY_SAMPLE", default=5000)

# --- Logging ----------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "console")
from dashboard.core.logging import configure_structlog  # noqa: E402

LOGGING = configure_structlog(level=LOG_LEVEL, fmt=LOG_FORMAT)
DJANGO_STRUCTLOG_CELERY_ENABLED = False
