"""The moderators' web pages under ``/moderation``: server-rendered HTML (aiohttp + Jinja2, autoescape on).

Pages: the queue with filters and campaigns (``/moderation``), a flag with its message, defanged
links, reasons with the evidence highlighted and the decision buttons (``/moderation/flags/{id}``),
the global decision history (``/moderation/history``), log in / log out. Everything the pages use
is served from here (one CSS and one JS file, no CDN, no outbound request).

Security, in short:

* Sessions: ``runtime.login`` makes a random token; it travels only in the ``pg_session`` cookie
  (``HttpOnly``, ``SameSite=Strict``, ``Path=/moderation``, ``Secure`` when
  ``settings.moderation.secure_cookies``) and the store keeps only its hash.
* CSRF: every form carries ``csrf`` = HMAC-SHA256 keyed with the session token (the login form: with
  a random pre-login cookie, ``pg_login``). Only someone who can read the HttpOnly cookie can
  compute it, it needs no server-side secret (so it holds across workers and replicas), and it
  reveals nothing of the token. Every POST without the right value gets 403.
* Roles: viewers see the pages without decision buttons; their forged POSTs get 403.
* Headers on every answer: a CSP allowing only this origin's script and style, ``X-Frame-Options:
  DENY``, ``Referrer-Policy: no-referrer``, ``Cache-Control: no-store``, ``nosniff``.
* Output: autoescape everywhere; the message text is escaped before the evidence is wrapped in
  ``<mark>``; links are defanged (``hxxps://avito-pay[.]ru``) and never rendered as anchors.

The service registers :data:`WEB_ROUTES`; the handlers authenticate by the session themselves.

>>> print(render_message("<b>Pay</b> at avito-pay.ru/x", ["avito-pay"]))
&lt;b&gt;Pay&lt;/b&gt; at <span class="url"><mark>avito-pay</mark></span><span class="url">[.]ru/x</span>
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from markupsafe import Markup, escape
from yarl import URL

from ..extract import extract_urls
from ..render import defang
from ..verdict import CATEGORIES
from .store.base import Decision, Flag, FlagQuery, NotFound, StoreError, User
from .web_i18n import LANGUAGES, pick_language, translate

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = [
    "CSP",
    "WEB_ROUTES",
    "Filters",
    "csrf_token",
    "defang_chars",
    "parse_filters",
    "evidence_parts",
    "render_message",
    "render_template",
]

log = logging.getLogger("phishguard.moderation.web")

BASE = "/moderation"
SESSION_COOKIE = "pg_session"
LOGIN_COOKIE = "pg_login"
LANG_COOKIE = "pg_lang"
DECIDING_ROLES = frozenset({"moderator", "admin"})
STATUSES = ("open", "confirmed", "dismissed")
PAGE_SIZE = 50
SNIPPET_CHARS = 160
NOTE_MAX = 1000
HISTORY_PAGE = 100

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_HERE = Path(__file__).resolve().parent
_STATIC = {"moderation.css": "text/css", "moderation.js": "text/javascript", "favicon.svg": "image/svg+xml"}
_URL_EVIDENCE = frozenset({"url_structure", "lookalike_domain", "reputation"})
_DOTS = frozenset(".\u3002\uff0e\uff61")
_CSRF_SESSION = b"phishguard moderation csrf v1"
_CSRF_LOGIN = b"phishguard moderation login v1"


# ------------------------------------------------------------------ runtime (written by the service)


def _runtime() -> Any:
    """The runtime module, imported when first needed (it imports the service side)."""
    from . import runtime

    return runtime


def _moderation(request: web.Request) -> Any:
    """The ``Moderation`` object the service put on the app."""
    return request.config_dict[_runtime().MODERATION]


# ------------------------------------------------------------------ rendering helpers (pure)


def defang_chars(raw: str) -> list[str]:
    """``raw`` (a URL as written) one string per character, defanged like :func:`render.defang`
    (``hxxp``, ``[.]`` in the authority) so highlights can still be placed by character position.

    >>> "".join(defang_chars("https://аvito.ru/pay/1.html"))
    'hxxps://аvito[.]ru/pay/1.html'
    >>> len(defang_chars("avito.ru")) == len("avito.ru")
    True
    """
    out = list(raw)
    scheme, sep, _ = raw.partition("://")
    body = 0
    if sep and scheme.isalpha():
        if scheme.lower() in ("http", "https"):
            out[1] = out[2] = "x"
        body = len(scheme) + 3
    end = len(raw)
    for i in range(body, len(raw)):
        if raw[i] in "/?#\\":
            end = i
            break
    for i in range(body, end):
        if raw[i] in _DOTS:
            out[i] = "[.]"
    return out


def _evidence_mask(text: str, evidences: Iterable[str], limit: int = 1000) -> list[bool]:
    """Which characters of ``text`` lie in an occurrence of some evidence string."""
    mask = [False] * len(text)
    for ev in evidences:
        if not ev:
            continue
        start, found = 0, 0
        while found < limit:
            i = text.find(ev, start)
            if i < 0:
                break
            for j in range(i, i + len(ev)):
                mask[j] = True
            start, found = i + len(ev), found + 1
    return mask


def evidence_parts(evidence: str, text: str) -> list[str]:
    """What of ``evidence`` to highlight in ``text``: the whole when it occurs, else the items of a
    comma-separated list that occur (the text model names its words that way), else nothing.

    >>> evidence_parts("оплатил, деньги", "Покупатель оплатил, деньги ждут")
    ['оплатил, деньги']
    >>> evidence_parts("оплатил, получите", "Он оплатил. Вы получите")
    ['оплатил', 'получите']
    >>> evidence_parts("xn--vito-43d.ru", "аvito.ru")
    []
    """
    if not evidence:
        return []
    if evidence in text:
        return [evidence]
    return [part for part in (p.strip() for p in evidence.split(",")) if part and part in text]


def _url_map(text: str) -> list[str | None]:
    """Per character of ``text``: its defanged form inside a live URL, None outside one."""
    shown: list[str | None] = [None] * len(text)
    for span in extract_urls(text):
        chars = [text[i] for i in range(span.start, span.end)] if span.defanged else defang_chars(span.raw)
        for offset, ch in enumerate(chars):
            shown[span.start + offset] = ch
    return shown


def render_message(text: str, evidences: Sequence[str] = (), *, limit: int | None = None) -> Markup:
    """The message as safe HTML: everything escaped, URLs defanged in ``<span class="url">``,
    evidence occurrences wrapped in ``<mark>``; cut after ``limit`` characters (with "…").

    >>> str(render_message("<script>x</script>", ["script"]))
    '&lt;<mark>script</mark>&gt;x&lt;/<mark>script</mark>&gt;'
    >>> str(render_message("see avito.ru/pay now", limit=7))
    'see <span class="url">avi</span>…'
    """
    marked = _evidence_mask(text, evidences)
    urls = _url_map(text)
    stop = len(text) if limit is None else min(limit, len(text))
    parts: list[str] = []
    i = 0
    while i < stop:
        key = (marked[i], urls[i] is not None)
        j = i
        chunk: list[str] = []
        while j < stop and (marked[j], urls[j] is not None) == key:
            chunk.append(urls[j] or text[j])
            j += 1
        html = str(escape("".join(chunk)))
        if key[0]:
            html = f"<mark>{html}</mark>"
        if key[1]:
            html = f'<span class="url">{html}</span>'
        parts.append(html)
        i = j
    if stop < len(text):
        parts.append("…")
    return Markup("".join(parts))


def format_time(ts: float | None) -> str:
    """UNIX seconds as ``YYYY-MM-DD HH:MM:SS`` UTC (empty for None).

    >>> format_time(0)
    '1970-01-01 00:00:00'
    """
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _show_value(value: Any) -> str:
    """A context / model value as one line of text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def evidence_shown(reason: Mapping[str, Any]) -> str:
    """The evidence of a reason as displayed: defanged for URL-ish categories (as the CLI does).

    >>> evidence_shown({"category": "lookalike_domain", "evidence": "avito-pay.ru"})
    'avito-pay[.]ru'
    """
    ev = str(reason.get("evidence") or "")
    return defang(ev) if reason.get("category") in _URL_EVIDENCE else ev


# ------------------------------------------------------------------ filters


@dataclass(frozen=True, slots=True)
class Filters:
    """The queue filters of a request: the store query, the cleaned values (for the form and for
    links that keep the filters) and the names of values that were ignored as invalid."""

    query: FlagQuery
    values: dict[str, str]
    invalid: list[str] = field(default_factory=list)

    def qs(self, **extra: str | int) -> str:
        """The filters (and ``extra``) as a query string, ``?…`` or empty."""
        params = {k: v for k, v in self.values.items() if v}
        params.update({k: str(v) for k, v in extra.items()})
        return "?" + str(URL.build(query=params).query_string) if params else ""


def _parse_time(value: str) -> float:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]`` (UTC) as UNIX seconds; ValueError."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def parse_filters(params: Mapping[str, str]) -> Filters:
    """Queue filters from a query string. No ``status`` at all means ``open``; ``status=all`` means any.

    >>> f = parse_filters({"brand": "avito", "min_score": "0.7", "since": "2026-01-02"})
    >>> f.query.status, f.query.brand, f.query.min_score, f.query.since
    ('open', 'avito', 0.7, 1767312000.0)
    >>> parse_filters({"min_score": "lots", "status": "all"}).invalid
    ['min_score']
    """
    values: dict[str, str] = {}
    invalid: list[str] = []
    kwargs: dict[str, Any] = {"limit": PAGE_SIZE}
    status = params.get("status", "open").strip()
    values["status"] = status if status in STATUSES or status == "all" else "open"
    kwargs["status"] = values["status"] if values["status"] != "all" else None
    for name in ("category", "brand", "domain", "tenant", "campaign"):
        value = params.get(name, "").strip()[:300]
        if name == "category" and value and value not in CATEGORIES:
            invalid.append(name)
            value = ""
        if name == "domain":
            value = value.replace("[.]", ".").lower()
        values[name] = value
        kwargs[name] = value or None
    for name in ("since", "until"):
        value = params.get(name, "").strip()[:40]
        if value:
            try:
                kwargs[name] = _parse_time(value)
            except ValueError:
                invalid.append(name)
                value = ""
        values[name] = value
    value = params.get("min_score", "").strip()[:20]
    if value:
        try:
            score = float(value)
            if not 0.0 <= score <= 1.0:
                raise ValueError(value)
            kwargs["min_score"] = score
        except ValueError:
            invalid.append("min_score")
            value = ""
    values["min_score"] = value
    return Filters(query=FlagQuery(**kwargs), values=values, invalid=invalid)


def _positive_int(value: str | None) -> int | None:
    """``value`` as an int > 0, else None.

    >>> _positive_int("12"), _positive_int("-1"), _positive_int("x"), _positive_int(None)
    (12, None, None, None)
    """
    if value is None or not value.isdigit() or len(value) > 18:
        return None
    number = int(value)
    return number if number > 0 else None


# ------------------------------------------------------------------ CSRF, cookies, redirects


def csrf_token(secret: str, purpose: bytes = _CSRF_SESSION) -> str:
    """The CSRF value of forms for the session (or pre-login) token ``secret``.

    >>> csrf_token("abc") == csrf_token("abc") != csrf_token("abd")
    True
    """
    return hmac.new(secret.encode(), purpose, hashlib.sha256).hexdigest()


def _csrf_ok(secret: str | None, sent: Any, purpose: bytes = _CSRF_SESSION) -> bool:
    if not secret or not isinstance(sent, str) or not sent:
        return False
    return hmac.compare_digest(csrf_token(secret, purpose), sent)


def _safe_next(value: str | None) -> str:
    """Where to go after logging in: a path under /moderation, never another site.

    >>> _safe_next("/moderation/flags/3?x=1"), _safe_next("//evil.example/")
    ('/moderation/flags/3?x=1', '/moderation')
    >>> _safe_next("https://e.x/moderation"), _safe_next("/moderation/logout")
    ('/moderation', '/moderation')
    """
    if not value or len(value) > 2000 or any(c in value for c in "\\\r\n\t"):
        return BASE
    url = URL(value)
    if url.scheme or url.host or not (url.path == BASE or url.path.startswith(BASE + "/")):
        return BASE
    if url.path.startswith(BASE + "/login") or url.path.startswith(BASE + "/logout"):
        return BASE
    return value


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, **kw: Any) -> None:
    """Set a cookie with this module's flags: HttpOnly, SameSite=Strict, Path=/moderation (unless
    ``path`` says otherwise), Secure per ``settings.moderation.secure_cookies``."""
    response.set_cookie(
        name,
        value,
        path=kw.pop("path", BASE),
        httponly=True,
        samesite="Strict",
        secure=_secure_cookies(request),
        **kw,
    )


def _secure_cookies(request: web.Request) -> bool:
    try:
        return bool(_moderation(request).settings.moderation.secure_cookies)
    except (KeyError, AttributeError, ImportError):
        return False


# ------------------------------------------------------------------ templates


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    """The Jinja2 environment: templates next to this module, autoescape on for every template. Jinja2 is
    imported here, on the first page rendered (~13 ms a service start-up does not need to pay)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(str(_HERE / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ts"] = format_time
    env.filters["defang"] = defang
    env.filters["value"] = _show_value
    env.filters["evidence"] = evidence_shown
    return env


@dataclass(slots=True)
class Ctx:
    """What a handler knows about the request besides the request itself."""

    lang: str
    user: User | None = None
    token: str | None = None
    form: Mapping[str, Any] = field(default_factory=dict)

    @property
    def can_decide(self) -> bool:
        return self.user is not None and self.user.role in DECIDING_ROLES

    def t(self, key: str) -> str:
        return translate(self.lang, key)


def render_template(name: str, ctx: Ctx, request: web.Request | None = None, **values: Any) -> str:
    """Render ``name`` with the frame's values (language, user, CSRF token, links) and ``values``."""
    url = request.rel_url if request is not None else URL(BASE)
    frame = {
        "t": ctx.t,
        "lang": ctx.lang,
        "user": ctx.user,
        "can_decide": ctx.can_decide,
        "csrf": csrf_token(ctx.token) if ctx.token else "",
        "lang_links": {code: str(url.update_query(lang=code)) for code in LANGUAGES},
        "base": BASE,
        "categories": CATEGORIES,
        "statuses": STATUSES,
    }
    frame.update(values)
    return _environment().get_template(name).render(frame)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _error_page(request: web.Request, ctx: Ctx, status: int) -> web.Response:
    key = f"err_{status}" if status in (400, 403, 404, 503) else "err_500"
    return _html(render_template("error.html", ctx, request, status=status, message=ctx.t(key)), status)


# ------------------------------------------------------------------ the page wrapper


Handler = Callable[[web.Request, Ctx], Awaitable[web.StreamResponse]]  # what the pages implement
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]  # what aiohttp calls


def _language(request: web.Request) -> str:
    return pick_language(
        query=request.query.get("lang"),
        cookie=request.cookies.get(LANG_COOKIE),
        accept=request.headers.get("Accept-Language"),
    )


async def _session(request: web.Request) -> tuple[str, User] | None:
    """The session token and its user, or None (no cookie, unknown or expired token)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 256:
        return None
    user = await _moderation(request).user_for_token(token)
    return (token, user) if user is not None else None


def _status_for(exc: Exception) -> int:
    """The page status for an exception out of a handler (never a traceback to the browser)."""
    if isinstance(exc, NotFound):
        return 404
    try:
        forbidden = _runtime().Forbidden
    except (ImportError, AttributeError):
        forbidden = ()
    if isinstance(exc, forbidden):
        return 403
    if isinstance(exc, StoreError):
        return 503
    return 500


async def _run(
    request: web.Request, ctx: Ctx, handler: Handler, *, auth: bool, post: bool
) -> web.StreamResponse:
    """Authenticate (session; CSRF on POST), then call the handler."""
    if auth:
        session = await _session(request)
        if session is None:
            if post:
                return _error_page(request, ctx, 403)
            return _redirect(f"{BASE}/login?" + URL.build(query={"next": str(request.rel_url)}).query_string)
        ctx.token, ctx.user = session
    if post:
        ctx.form = await request.post()
        secret = ctx.token if auth else request.cookies.get(LOGIN_COOKIE)
        if not _csrf_ok(secret, ctx.form.get("csrf"), _CSRF_SESSION if auth else _CSRF_LOGIN):
            return _error_page(request, ctx, 403)
    return await handler(request, ctx)


def page(*, auth: bool = True, post: bool = False) -> Callable[[Handler], RouteHandler]:
    """Wrap a handler: language, session and CSRF, error pages, the security headers."""

    def wrap(handler: Handler) -> RouteHandler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            ctx = Ctx(lang=_language(request))
            try:
                response = await _run(request, ctx, handler, auth=auth, post=post)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a page, never a traceback
                status = _status_for(exc)
                if status == 500:
                    log.error("moderation page %s %s failed", request.method, request.path, exc_info=exc)
                response = _error_page(request, ctx, status)
            if request.query.get("lang") in LANGUAGES:
                _cookie(response, request, LANG_COOKIE, ctx.lang, max_age=365 * 86400)
            response.headers.update(SECURITY_HEADERS)
            return response

        return wrapped

    return wrap


# ------------------------------------------------------------------ store calls (run on the store's thread)


def _neighbours(store: Any, query: FlagQuery, flag_id: int) -> tuple[int | None, int | None]:
    """(previous, next) flag ids around ``flag_id`` in the queue ``query`` (newest first)."""
    older = store.list_flags(replace(query, before_id=flag_id, after_id=None, limit=1)).items
    newer = store.list_flags(replace(query, before_id=None, after_id=flag_id, limit=1)).items
    return (newer[0].id if newer else None), (older[0].id if older else None)


def _latest_decisions(store: Any, before: int | None, limit: int) -> tuple[list[Decision], int | None]:
    """The newest ``limit`` decisions with id < ``before`` (newest first) and the ``before`` of
    the next older page (None: no older ones)."""
    found = store.decisions(before_id=before, newest_first=True, limit=limit + 1)
    return found[:limit], (found[limit - 1].id if len(found) > limit else None)


def _flag_page(store: Any, flag_id: int, query: FlagQuery) -> dict[str, Any]:
    flag: Flag = store.get_flag(flag_id)
    prev, nxt = _neighbours(store, query, flag_id)
    return {"flag": flag, "decisions": store.decisions(flag_id=flag_id), "prev": prev, "next": nxt}


def _queue_page(store: Any, query: FlagQuery) -> dict[str, Any]:
    campaigns = store.campaigns(status="open", min_flags=2, limit=20)
    return {"page": store.list_flags(query), "campaigns": campaigns}


# ------------------------------------------------------------------ handlers


def _notice(ctx: Ctx, params: Mapping[str, str]) -> str:
    """The line shown after a decision (from ``done=`` and ``n=``; fixed strings only)."""
    action = params.get("done", "")
    count = _positive_int(params.get("n"))
    if action not in ("confirm", "dismiss", "reopen") or count is None:
        return ""
    return f"{ctx.t('done_' + action)} {count} {ctx.t('done_flags')}"


@page()
async def queue(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    """The review queue: filters, campaigns, one page of flags (newest first)."""
    filters = parse_filters(request.query)
    before = _positive_int(request.query.get("before"))
    data = await _moderation(request).run(lambda s: _queue_page(s, replace(filters.query, before_id=before)))
    rows = [
        {
            "flag": f,
            "snippet": render_message(f.text or "", limit=SNIPPET_CHARS),
            "href": f"{BASE}/flags/{f.id}{filters.qs()}",
        }
        for f in data["page"].items
    ]
    body = render_template(
        "queue.html",
        ctx,
        request,
        filters=filters,
        rows=rows,
        campaigns=data["campaigns"],
        next_href=f"{BASE}{filters.qs(before=data['page'].next)}" if data["page"].next else "",
        first_href=f"{BASE}{filters.qs()}" if before else "",
        notice=_notice(ctx, request.query),
    )
    return _html(body)


@page()
async def flag_detail(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    """One flag: message with highlighted evidence, defanged links, reasons, decisions, buttons."""
    flag_id = _positive_int(request.match_info.get("flag_id"))
    if flag_id is None:
        raise NotFound("no such flag")
    filters = parse_filters(request.query)
    data = await _moderation(request).run(lambda s: _flag_page(s, flag_id, filters.query))
    flag: Flag = data["flag"]
    text = flag.text or ""
    parts = [evidence_parts(str(r.get("evidence") or ""), text) for r in flag.reasons]
    evidences = [part for found in parts for part in found]
    body = render_template(
        "flag.html",
        ctx,
        request,
        flag=flag,
        filters=filters,
        message=render_message(text, evidences) if flag.text is not None else None,
        in_text=[bool(found) for found in parts],
        decisions=data["decisions"],
        prev_href=f"{BASE}/flags/{data['prev']}{filters.qs()}" if data["prev"] else "",
        next_href=f"{BASE}/flags/{data['next']}{filters.qs()}" if data["next"] else "",
        queue_href=f"{BASE}{filters.qs()}",
        decide_href=f"{BASE}/flags/{flag.id}/decide{filters.qs()}",
        notice=_notice(ctx, request.query),
    )
    return _html(body)


def _decision_input(ctx: Ctx, allowed: Iterable[str]) -> tuple[str, str] | None:
    """(action, note) from the posted form, None when the action is not one of ``allowed``."""
    action = ctx.form.get("action")
    if not isinstance(action, str) or action not in allowed:
        return None
    note = ctx.form.get("note", "")
    return action, (note if isinstance(note, str) else "")[:NOTE_MAX]


@page(post=True)
async def decide_flag(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    """Confirm / dismiss / reopen one flag, then go on to the next flag of the queue."""
    flag_id = _positive_int(request.match_info.get("flag_id"))
    if flag_id is None:
        raise NotFound("no such flag")
    if not ctx.can_decide or ctx.user is None:
        return _error_page(request, ctx, 403)
    decision = _decision_input(ctx, ("confirm", "dismiss", "reopen"))
    if decision is None:
        return _error_page(request, ctx, 400)
    action, note = decision
    moderation = _moderation(request)
    done = await moderation.decide(ctx.user, action, flag_ids=(flag_id,), note=note)
    filters = parse_filters(request.query)
    if action == "reopen":
        target = f"{BASE}/flags/{flag_id}"  # stay on the flag, now open again
    else:  # on to the next (older) flag of the same queue, or the queue when none is left
        after = replace(filters.query, before_id=flag_id, limit=1)
        older = await moderation.run(lambda s: s.list_flags(after).items)
        target = f"{BASE}/flags/{older[0].id}" if older else BASE
    return _redirect(target + filters.qs(done=action, n=max(len(done), 1)))


@page(post=True)
async def decide_campaign(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    """Confirm or dismiss every open flag of a campaign."""
    if not ctx.can_decide or ctx.user is None:
        return _error_page(request, ctx, 403)
    decision = _decision_input(ctx, ("confirm", "dismiss"))
    key = ctx.form.get("key")
    if decision is None or not isinstance(key, str) or not key or len(key) > 500:
        return _error_page(request, ctx, 400)
    action, note = decision
    done = await _moderation(request).decide_campaign(ctx.user, key, action, note=note)
    return _redirect(BASE + parse_filters(request.query).qs(done=action, n=max(len(done), 1)))


@page()
async def history(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    """Every decision, newest first, a page at a time."""
    before = _positive_int(request.query.get("before"))
    decisions, older = await _moderation(request).run(lambda s: _latest_decisions(s, before, HISTORY_PAGE))
    body = render_template(
        "history.html",
        ctx,
        request,
        decisions=decisions,
        older_href=f"{BASE}/history?before={older}" if older else "",
        first_href=f"{BASE}/history" if before else "",
    )
    return _html(body)


@page(auth=False)
async def login_form(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    """The login form (straight on if already logged in)."""
    target = _safe_next(request.query.get("next"))
    if await _session(request) is not None:
        return _redirect(target)
    return _login_page(request, ctx, target, error="", status=200)


def _login_page(request: web.Request, ctx: Ctx, target: str, *, error: str, status: int) -> web.Response:
    """The login form with a fresh pre-login token (cookie + the form's CSRF value)."""
    pre = secrets.token_urlsafe(32)
    body = render_template(
        "login.html",
        ctx,
        request,
        next=target,
        login_csrf=csrf_token(pre, _CSRF_LOGIN),
        error=error,
        bye=request.query.get("bye") == "1",
    )
    response = _html(body, status)
    _cookie(response, request, LOGIN_COOKIE, pre, max_age=3600, path=f"{BASE}/login")
    return response


@page(auth=False, post=True)
async def login_submit(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    """Check the user name and password; on success start a session and go where ``next`` says."""
    name = ctx.form.get("name", "")
    password = ctx.form.get("password", "")
    target = _safe_next(ctx.form.get("next") if isinstance(ctx.form.get("next"), str) else None)
    moderation = _moderation(request)
    try:
        if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
            raise _runtime().AuthError("empty")
        token, _user = await moderation.login(name[:200], password[:1024])
    except _runtime().AuthError:
        return _login_page(request, ctx, target, error=ctx.t("login_failed"), status=401)
    response = _redirect(target)
    ttl = int(moderation.settings.moderation.session_ttl_s)
    _cookie(response, request, SESSION_COOKIE, token, max_age=ttl)
    response.del_cookie(LOGIN_COOKIE, path=f"{BASE}/login")
    return response


@page(post=True)
async def logout(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    """End the session (in the store too) and go back to the login form."""
    if ctx.token:
        await _moderation(request).logout(ctx.token)
    response = _redirect(f"{BASE}/login?bye=1")
    response.del_cookie(SESSION_COOKIE, path=BASE)
    return response


@page(auth=False)
async def slash(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    """``/moderation/`` is the queue (a typed address often ends with a slash)."""
    return _redirect(BASE)


@functools.lru_cache(maxsize=len(_STATIC))
def _static_bytes(name: str) -> bytes:
    return (_HERE / "static" / name).read_bytes()


@page(auth=False)
async def static(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    """The page's CSS and JS (a fixed list: nothing else of the disk is reachable)."""
    name = request.match_info.get("name", "")
    content_type = _STATIC.get(name)
    if content_type is None:
        raise NotFound(name)
    return web.Response(body=_static_bytes(name), content_type=content_type, charset="utf-8")


#: (method, path, handler) for the service to register; the handlers do their own session auth.
WEB_ROUTES: tuple[tuple[str, str, RouteHandler], ...] = (
    ("GET", BASE, queue),
    ("GET", f"{BASE}/", slash),
    ("GET", f"{BASE}/flags/{{flag_id}}", flag_detail),
    ("POST", f"{BASE}/flags/{{flag_id}}/decide", decide_flag),
    ("POST", f"{BASE}/campaigns/decide", decide_campaign),
    ("GET", f"{BASE}/history", history),
    ("GET", f"{BASE}/login", login_form),
    ("POST", f"{BASE}/login", login_submit),
    ("POST", f"{BASE}/logout", logout),
    ("GET", f"{BASE}/static/{{name}}", static),
)
