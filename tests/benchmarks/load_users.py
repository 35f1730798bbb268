"""Virtual staff users for the load benchmarks (bench_load, bench_embedded).

A virtual user is a thread with its own ``requests.Session`` (cookies, CSRF) that does
what a person's browser does on the console: logs in (password, then the authenticator
code for an admin), opens pages, and while the person reads a page, makes the requests
the page makes by itself. Those are found in the page's HTML as htmx does: an element
with ``hx-get`` and an ``hx-trigger`` of ``every Ns`` / ``every Nms`` is polled at that
interval until the next click; one with ``load`` (or ``load delay:X``) is fetched once
after the page (after the delay), and an answer that holds such an element again (an
``outerHTML`` swap of a fragment still pending) is followed the same way until the
fragment is final (htmx's 286 "stop polling", or no trigger left). Requests a page
makes by itself carry ``HX-Request: true`` and ``X-Switchyard-Poll: 1``, as
``static/js/app.js`` adds them (``dashboard/core/idle.py``).

Every request is timed into a :class:`Tally` under a name: ``GET /accounts/<id>/`` for
a page, ``poll GET /events/live/`` for a page's own request (ids replaced, query
dropped). Anything but a 200 (a 286 for a poll), a redirect to the login page or an
``HX-Redirect`` is an error, with its reason kept. A GET that meets a kept-alive
connection the server has just closed is sent again once, as browsers do, and counted
apart (``retried_on_closed_connection``), not as an error.

The users are the benchmark's own staff (:func:`staff_specs`, :func:`create_staff`),
one account per virtual user with the role's group, as seed_demo makes the demo users:
the admin role requires two-factor, and an authenticator code is accepted once per
user (allauth remembers used codes), so ten admin sessions cannot share the one demo
admin. The codes are computed here from each admin's secret (RFC 6238, allauth's
defaults: 30 s, 6 digits, SHA-1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import secrets
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from tests.benchmarks.harness import percentile

ID_IN_PATH = re.compile(r"/\d+(?=/|$)")
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")
DATA_STATUS = re.compile(r'data-status="(\w+)"')
EVENT_ROW = re.compile(r'id="event-row-(\d+)"[^>]*?data-status="(\w+)"')
POLL_HEADERS = {"HX-Request": "true", "X-Switchyard-Poll": "1"}
# A load-triggered chain (a pending preview's result) is followed at most this long.
CHAIN_LIMIT_SECONDS = 30.0
REQUEST_TIMEOUT = 30
# A marketer's preview, submit to final fragment: its own figure, not a page.
PREVIEW_FIGURE = "preview submit->result"


def page_name(path: str) -> str:
    """``/accounts/12/?x=1`` -> ``/accounts/<id>/``: one figure per page, not per row."""
    return ID_IN_PATH.sub("/<id>", urlsplit(path).path)


def parse_duration(text: str) -> float:
    """htmx's ``2s``, ``700ms``, ``1m`` (a bare number is milliseconds) in seconds."""
    match = DURATION.match(text)
    if not match:
        raise ValueError(text)
    value, unit = float(match.group(1)), match.group(2) or "ms"
    return value / 1000 if unit == "ms" else value * 60 if unit == "m" else value


# --- what a page polls ---------------------------------------------------------------
@dataclass
class Trigger:
    url: str  # absolute path with query, resolved against the page
    every: float | None = None  # seconds between polls ("every 2s")
    delay: float = 0.0  # "load delay:60ms"
    follows_answer: bool = True  # outerHTML: the answer replaces the element

    @property
    def is_load(self) -> bool:
        return self.every is None


class _TriggerParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        # HTMLParser already unescapes attribute values (&amp; -> &).
        values = {name: value or "" for name, value in attrs}
        if "hx-get" in values and "hx-trigger" in values:
            self.found.append(values)


def _trigger_from(spec: str) -> tuple[float | None, float | None]:
    """(every seconds, load delay seconds) of an ``hx-trigger``; (None, None) for
    triggers a person fires (change, input, submit, custom events)."""
    for part in spec.split(","):
        words = part.split()
        if not words:
            continue
        if words[0] == "every" and len(words) > 1:
            try:
                return parse_duration(words[1]), None
            except ValueError:
                return None, None
        if words[0] == "load":
            delay = 0.0
            for word in words[1:]:
                if word.startswith("delay:"):
                    try:
                        delay = parse_duration(word.removeprefix("delay:"))
                    except ValueError:
                        return None, None
            return None, delay
    return None, None


def find_polls(html: str, page_path: str) -> list[Trigger]:
    """The requests ``html`` (served at ``page_path``) makes by itself."""
    parser = _TriggerParser()
    parser.feed(html)
    parser.close()
    found = []
    for values in parser.found:
        url = values["hx-get"].strip()
        # Empty (a filter form's "this page"), template-y or external: not ours to poll.
        if not url or "{" in url or "%" in url.split("?")[0] or "//" in url:
            continue
        every, delay = _trigger_from(values["hx-trigger"])
        if every is None and delay is None:
            continue
        swap = values.get("hx-swap", "innerHTML").split()[0] if values.get("hx-swap") else ""
        found.append(
            Trigger(
                url=urljoin(page_path, url),
                every=every,
                delay=delay or 0.0,
                follows_answer=swap == "outerHTML" or "hx-select" in values,
            )
        )
    return found


# --- forms ---------------------------------------------------------------------------
@dataclass
class Form:
    attrs: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # select: (value, text)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._option: tuple[str, bool] | None = None
        self._text: list[str] = []
        self._textarea: str | None = None
        self._chosen: set[str] = set()

    def handle_starttag(self, tag, attrs):
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = Form(attrs=values)
            self.forms.append(self._form)
        form = self._form
        if form is None:
            return
        name = values.get("name")
        if tag == "input" and name:
            kind = values.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in values:
                    form.fields[name] = values.get("value", "on")
            elif kind not in ("submit", "button", "file", "image", "reset"):
                form.fields[name] = values.get("value", "")
        elif tag == "select" and name:
            self._select = name
            form.options[name] = []
            form.fields.setdefault(name, "")
        elif tag == "option" and self._select:
            self._option = (values.get("value"), "selected" in values)
            self._text = []
        elif tag == "textarea" and name:
            self._textarea = name
            self._text = []

    def handle_data(self, data):
        if self._option is not None or self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None and self._form and self._select:
            value, selected = self._option
            text = "".join(self._text).strip()
            value = text if value is None else value
            self._form.options[self._select].append((value, text))
            # As a browser: the option marked selected, else the first one.
            if selected and self._select not in self._chosen:
                self._chosen.add(self._select)
                self._form.fields[self._select] = value
            elif self._select not in self._chosen and len(self._form.options[self._select]) == 1:
                self._form.fields[self._select] = value
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea and self._form:
            self._form.fields[self._textarea] = "".join(self._text).lstrip("\n")
            self._textarea = None
        elif tag == "form":
            self._form = None


def find_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


def csrf_token(html: str) -> str:
    for form in find_forms(html):
        if form.fields.get("csrfmiddlewaretoken"):
            return form.fields["csrfmiddlewaretoken"]
    raise LookupError("no CSRF token on the page")


# --- the figures -----------------------------------------------------------------------
@dataclass
class Tally:
    """Latencies (ms), errors and a few error reasons per request name."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reasons: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # GETs sent again because the server had closed the kept-alive connection.
    retries: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note_retry(self, name: str) -> None:
        with self.lock:
            self.retries[name] += 1

    def add(self, name: str, ms: float, ok: bool, reason: str = "") -> None:
        with self.lock:
            self.latencies[name].append(ms)
            if not ok:
                self.errors[name] += 1
                if len(self.reasons[name]) < 5:
                    self.reasons[name].append(reason)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def count(self, prefix: str) -> int:
        """Requests tallied under names starting with ``prefix`` (``"log-in ("``)."""
        with self.lock:
            return sum(len(v) for name, v in self.latencies.items() if name.startswith(prefix))

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def summary(self, name: str) -> dict:
        samples = self.latencies.get(name, [])
        return {
            "requests": len(samples),
            "median_ms": round(percentile(samples, 50), 1) if samples else None,
            "p95_ms": round(percentile(samples, 95), 1) if samples else None,
            "max_ms": round(max(samples), 1) if samples else None,
            "errors": self.errors.get(name, 0),
            "error_reasons": list(self.reasons.get(name, [])),
            "retried_on_closed_connection": self.retries.get(name, 0),
        }

    def summaries(self) -> dict[str, dict]:
        with self.lock:
            names = sorted(self.latencies)
        return {name: self.summary(name) for name in names}


def _closed_idle_connection(exc: Exception) -> bool:
    text = str(exc)
    return "Connection aborted" in text or "RemoteDisconnected" in text


class Recorder:
    """Which tally requests go to now: the benchmark swaps a warm-up tally for the
    measured one when the steady state starts. A request counts where it started."""

    def __init__(self, tally: Tally | None = None):
        self.current = tally or Tally()


# --- the staff ---------------------------------------------------------------------------
@dataclass
class StaffSpec:
    username: str
    role: str
    password: str
    totp_secret: str = ""


def staff_specs(prefix: str, roles: list[str]) -> list[StaffSpec]:
    """One user per entry of ``roles`` (``{prefix}-{role}-{n}``); one password per role
    (hashed once, see :func:`create_staff`), an authenticator secret per admin."""
    passwords = {role: f"{role}-{secrets.token_urlsafe(12)}" for role in set(roles)}
    specs = []
    for index, role in enumerate(roles):
        specs.append(
            StaffSpec(
                username=f"{prefix}-{role}-{index:02d}",
                role=role,
                password=passwords[role],
                totp_secret=base64.b32encode(secrets.token_bytes(20)).decode()
                if role == "admin"
                else "",
            )
        )
    return specs


def create_staff(specs: list[StaffSpec]) -> None:
    """Create (or reset) the users of ``specs`` in the current Django database: the
    role's group, the password, and for an admin an authenticator with the spec's
    secret (the admin role refuses pages until one is enrolled)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.db import transaction

    from dashboard.core.roles import sync_roles

    # Argon2 is slow on purpose: one hash per password, shared by the users having it.
    hashes = {p: make_password(p) for p in {s.password for s in specs}}
    with transaction.atomic():
        sync_roles()
        existing = {
            u.username: u for u in User.objects.filter(username__in=[s.username for s in specs])
        }
        User.objects.bulk_create(
            [User(username=s.username) for s in specs if s.username not in existing]
        )
        users = {
            u.username: u for u in User.objects.filter(username__in=[s.username for s in specs])
        }
        for spec in specs:
            users[spec.username].password = hashes[spec.password]
            users[spec.username].is_active = True
        User.objects.bulk_update(list(users.values()), ["password", "is_active"])
        groups = {g.name: g for g in Group.objects.all()}
        Group.user_set.through.objects.filter(user__in=users.values()).delete()
        Group.user_set.through.objects.bulk_create(
            [Group.user_set.through(user=users[s.username], group=groups[s.role]) for s in specs]
        )
        admins = [users[s.username] for s in specs if s.totp_secret]
        Authenticator.objects.filter(user__in=admins).delete()
        for spec in specs:
            if spec.totp_secret:
                TOTP.activate(users[spec.username], spec.totp_secret)


def write_specs(specs: list[StaffSpec], path: Path) -> None:
    path.write_text(json.dumps([asdict(s) for s in specs]))
    path.chmod(0o600)


def create_staff_from_file(path: str) -> None:
    """For ``manage.py shell -c`` in another process (the embedded default)."""
    create_staff([StaffSpec(**item) for item in json.loads(Path(path).read_text())])


def totp_code(secret: str, at: float | None = None) -> str:
    """The authenticator app's code for ``secret`` now (RFC 6238: 30 s, 6 digits)."""
    counter = int(time.time() if at is None else at) // 30
    key = base64.b32decode(secret.encode(), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{value:06d}"


# --- one virtual user --------------------------------------------------------------------
class LoginFailed(RuntimeError):
    pass


@dataclass
class PreviewRun:
    submit_ms: float  # the POST's answer
    started_ms: float | None  # the first fragment no longer "pending" (None: never seen)
    result_ms: float  # until the last fragment polled (final unless ``done`` is False)
    status: str
    preview_id: int | None
    submitted_at: float  # time.time() of the submit

    @property
    def ok(self) -> bool:
        return self.status == "done"


class VirtualUser:
    """One person's browser. ``recorder.current`` gets every request's figure."""

    def __init__(self, base: str, spec: StaffSpec, recorder: Recorder, *, seed=None):
        self.base = base
        self.spec = spec
        self.recorder = recorder
        self.session = requests.Session()
        self.session.trust_env = False
        self.rng = random.Random(seed)  # noqa: S311 - think time, not security
        self.current_page = "/"
        self.event_rows: dict[int, str] = {}

    # -- requests
    def _request(
        self,
        method: str,
        path: str,
        name: str,
        *,
        ok_statuses=(200,),
        headers: dict | None = None,
        data: dict | None = None,
        tally: Tally | None = None,
    ) -> requests.Response | None:
        tally = tally or self.recorder.current
        started = time.perf_counter()
        attempts = 2 if method == "GET" else 1
        while True:
            attempts -= 1
            try:
                answer = self.session.request(
                    method,
                    f"{self.base}{path}",
                    headers=headers,
                    data=data,
                    timeout=REQUEST_TIMEOUT,
                )
                break
            except requests.ConnectionError as exc:
                # A kept-alive connection the server closed as the request went out: a
                # browser sends a GET again on a new one, and so does this.
                if attempts and _closed_idle_connection(exc):
                    tally.note_retry(name)
                    continue
                ms = (time.perf_counter() - started) * 1000
                tally.add(name, ms, False, f"{type(exc).__name__}: {str(exc)[:160]}")
                return None
            except requests.RequestException as exc:
                ms = (time.perf_counter() - started) * 1000
                tally.add(name, ms, False, f"{type(exc).__name__}: {str(exc)[:160]}")
                return None
        ms = (time.perf_counter() - started) * 1000
        final_path = urlsplit(answer.url).path
        reason = ""
        if answer.status_code not in ok_statuses:
            reason = f"HTTP {answer.status_code} {final_path}"
        elif final_path.startswith("/login/"):
            reason = f"redirected to the login page from {path}"
        elif "/login/" in answer.headers.get("HX-Redirect", ""):
            reason = f"HX-Redirect to the login page from {path}"
        tally.add(name, ms, not reason, reason)
        return answer

    def _htmx_headers(self, *, poll: bool) -> dict:
        headers = {"HX-Request": "true", "HX-Current-URL": f"{self.base}{self.current_page}"}
        if poll:
            headers.update(POLL_HEADERS)
        return headers

    # -- logging in
    def login(self, tally: Tally) -> float:
        """Log in as a person does (the login page, the password, the code for an
        admin, each answer's redirect followed to the landing page); the milliseconds
        it took, tallied as ``log-in (role)``, and each request as ``step: ...``.
        Raises :class:`LoginFailed`."""
        started = time.perf_counter()
        steps: list[tuple[str, float]] = []

        def step(name: str, call):
            begun = time.perf_counter()
            answer = call()
            steps.append((name, (time.perf_counter() - begun) * 1000))
            return answer

        try:
            page = step(
                "GET /login/",
                lambda: self.session.get(f"{self.base}/login/", timeout=REQUEST_TIMEOUT),
            )
            answer = step(
                "POST password",
                lambda: self.session.post(
                    f"{self.base}/login/",
                    data={
                        "username": self.spec.username,
                        "password": self.spec.password,
                        "csrfmiddlewaretoken": csrf_token(page.text),
                    },
                    headers={"Referer": f"{self.base}/login/"},
                    timeout=REQUEST_TIMEOUT,
                    allow_redirects=False,
                ),
            )
            if answer.is_redirect and "/auth/2fa/authenticate/" in answer.headers["Location"]:
                form_page = step("GET code form", lambda: self._follow(answer))
                answer = step(
                    "POST code",
                    lambda: self.session.post(
                        form_page.url,
                        data={
                            "code": totp_code(self.spec.totp_secret),
                            "csrfmiddlewaretoken": csrf_token(form_page.text),
                        },
                        headers={"Referer": form_page.url},
                        timeout=REQUEST_TIMEOUT,
                        allow_redirects=False,
                    ),
                )
            if answer.is_redirect:
                answer = step("GET landing page", lambda: self._follow(answer))
            path = urlsplit(answer.url).path
            if answer.status_code != 200 or path.startswith(("/login/", "/auth/")):
                raise LoginFailed(f"{self.spec.username}: HTTP {answer.status_code} at {path}")
        except (requests.RequestException, LookupError, LoginFailed) as exc:
            ms = (time.perf_counter() - started) * 1000
            tally.add(f"log-in ({self.spec.role})", ms, False, f"{type(exc).__name__}: {exc}")
            raise LoginFailed(str(exc)) from exc
        ms = (time.perf_counter() - started) * 1000
        tally.add(f"log-in ({self.spec.role})", ms, True)
        for name, step_ms in steps:
            tally.add(f"step: {name}", step_ms, True)
        self.current_page = path
        return ms

    def _follow(self, answer: requests.Response) -> requests.Response:
        return self.session.get(
            urljoin(answer.url, answer.headers["Location"]), timeout=REQUEST_TIMEOUT
        )

    # -- pages and what they poll
    def open_page(self, path: str) -> tuple[requests.Response | None, list[Trigger]]:
        """GET a page as a click does, then what it loads by itself; returns the
        answer and the page's ``every`` polls (for :meth:`read`)."""
        answer = self._request("GET", path, f"GET {page_name(path)}")
        self.current_page = path
        if answer is None or answer.status_code != 200:
            return answer, []
        return answer, self._after_swap(answer.text, path)

    def _after_swap(self, html: str, path: str, until_final=None) -> list[Trigger]:
        """Follow the load-triggered requests of ``html``; the ``every`` polls left."""
        triggers = find_polls(html, path)
        self._note_event_rows(html)
        for trigger in [t for t in triggers if t.is_load]:
            self.follow_load(trigger, observe=until_final)
        return [t for t in triggers if not t.is_load]

    def follow_load(self, trigger: Trigger, observe=None) -> str | None:
        """Fetch a load-triggered fragment after its delay, and again while the answer
        still holds a load trigger for the same path (a pending preview); the last
        answer's text. ``observe(answer)`` sees each answer."""
        deadline = time.monotonic() + CHAIN_LIMIT_SECONDS
        text = None
        while trigger is not None and time.monotonic() < deadline:
            time.sleep(trigger.delay)
            answer = self._request(
                "GET",
                trigger.url,
                f"poll GET {page_name(trigger.url)}",
                ok_statuses=(200, 286),
                headers=self._htmx_headers(poll=True),
            )
            if answer is None:
                return None
            if observe:
                observe(answer)
            text = answer.text
            if answer.status_code != 200 or not trigger.follows_answer:
                return text
            path = urlsplit(trigger.url).path
            again = [
                t
                for t in find_polls(text, self.current_page)
                if t.is_load and urlsplit(t.url).path == path
            ]
            trigger = again[0] if again else None
        return text

    def read(self, seconds: float, polls: list[Trigger]) -> None:
        """The person reads the page for ``seconds``; the page polls meanwhile."""
        end = time.monotonic() + seconds
        due = {index: time.monotonic() + t.every for index, t in enumerate(polls)}
        while True:
            now = time.monotonic()
            if not due:
                time.sleep(max(0.0, end - now))
                return
            index = min(due, key=due.get)
            if due[index] >= end:
                time.sleep(max(0.0, end - now))
                return
            time.sleep(max(0.0, due[index] - now))
            trigger = polls[index]
            url = self._with_page_parameters(trigger.url)
            answer = self._request(
                "GET",
                url,
                f"poll GET {page_name(trigger.url)}",
                ok_statuses=(200, 286),
                headers=self._htmx_headers(poll=True),
            )
            if answer is None or answer.status_code != 200:
                del due[index]  # htmx stops polling on 286 (and on an error)
                continue
            self._note_event_rows(answer.text)
            if trigger.follows_answer:
                path = urlsplit(trigger.url).path
                again = [
                    t
                    for t in find_polls(answer.text, self.current_page)
                    if t.every is not None and urlsplit(t.url).path == path
                ]
                if not again:
                    del due[index]  # the new copy of the element no longer polls
                    continue
                polls[index] = again[0]
            due[index] = time.monotonic() + polls[index].every

    def _note_event_rows(self, html: str) -> None:
        # static/js/events.js: the live poll names the rows still queued or sending.
        for pk, status in EVENT_ROW.findall(html):
            self.event_rows[int(pk)] = status

    def _with_page_parameters(self, url: str) -> str:
        if urlsplit(url).path != "/events/live/":
            return url
        pending = [
            str(pk)
            for pk, status in sorted(self.event_rows.items(), reverse=True)
            if status in ("queued", "sending")
        ][:200]
        if not pending:
            return url
        return url + ("&" if "?" in url else "?") + "pending=" + ",".join(pending)

    # -- a preview, as the preview page's form and result fragment do it
    def submit_preview(
        self, page_html: str, *, slot_id: str = "home-hero", tally: Tally | None = None
    ) -> PreviewRun:
        """Fill the preview form of ``page_html`` (the /preview/ page) with the Croct
        demo account and ``slot_id``, post it as htmx does, and poll the result
        fragment as its trigger says until it is final."""
        form = next(
            (f for f in find_forms(page_html) if f.attrs.get("hx-post", "").endswith("/run/")),
            None,
        )
        if form is None:
            raise LookupError("no preview form on the page")
        data = dict(form.fields)
        accounts = [v for v, text in form.options.get("account", []) if v]
        croct = [v for v, text in form.options.get("account", []) if v and "croct" in text.lower()]
        data["account"] = (croct or accounts or [""])[0]
        data["slot_id"] = slot_id
        personas = [v for v, _ in form.options.get("persona", []) if v]
        if personas:
            data["persona"] = self.rng.choice(personas)
        headers = {**self._htmx_headers(poll=False), "HX-Target": "workbench"}
        submitted_at = time.time()
        started = time.perf_counter()
        answer = self._request(
            "POST",
            form.attrs["hx-post"],
            "POST /preview/run/",
            headers=headers,
            data=data,
            tally=tally,
        )
        submit_ms = (time.perf_counter() - started) * 1000
        if answer is None or answer.status_code != 200:
            return PreviewRun(submit_ms, None, submit_ms, "refused", None, submitted_at)
        seen: dict = {"started": None, "status": "pending"}

        def observe(response: requests.Response) -> None:
            match = DATA_STATUS.search(response.text)
            status = match.group(1) if match else "?"
            seen["status"] = status
            if status != "pending" and seen["started"] is None:
                seen["started"] = (time.perf_counter() - started) * 1000

        status_match = DATA_STATUS.search(answer.text)
        if status_match and status_match.group(1) != "pending":
            observe(answer)
        result = [t for t in find_polls(answer.text, self.current_page) if "/result/" in t.url]
        preview_id = None
        if result:
            preview_id = int(re.search(r"/(\d+)/result/", result[0].url).group(1))
            self.follow_load(result[0], observe=observe)
        return PreviewRun(
            submit_ms,
            seen["started"],
            (time.perf_counter() - started) * 1000,
            seen["status"],
            preview_id,
            submitted_at,
        )

    # -- browsing
    def browse(
        self,
        pages: list[str],
        until: float | Callable[[], float],
        *,
        think: tuple[float, float] = (2.0, 6.0),
        preview_chance: float = 0.0,
    ) -> None:
        """Click through ``pages`` (random order) until ``until`` (monotonic, or a
        function answering it: a deadline set later), reading
        each for a think time while it polls. On /preview/ a marketer submits a
        preview ``preview_chance`` of the time; its submit -> result time is tallied
        as :data:`PREVIEW_FIGURE` (not a page: the benchmarks report it apart)."""
        deadline = until if callable(until) else lambda: until
        while time.monotonic() < deadline():
            path = self.rng.choice(pages)
            answer, polls = self.open_page(path)
            think_for = self.rng.uniform(*think)
            if (
                path == "/preview/"
                and answer is not None
                and answer.status_code == 200
                and self.rng.random() < preview_chance
            ):
                time.sleep(min(1.0, think_for / 2))  # picks the slot and visitor
                tally = self.recorder.current
                try:
                    run = self.submit_preview(answer.text, tally=tally)
                except LookupError as exc:
                    tally.add(PREVIEW_FIGURE, 0.0, False, str(exc))
                else:
                    tally.add(PREVIEW_FIGURE, run.result_ms, run.ok, f"ended {run.status}")
                think_for /= 2
            self.read(max(0.0, min(think_for, deadline() - time.monotonic())), polls)
