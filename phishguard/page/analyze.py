"""HTML of a page -> :class:`PageView`: what the page asks for, shows and says. Pure, no network.

Hostile HTML (deep nesting, broken tags, huge attributes, megabytes of padding) must cost little, so
this is not a tree builder: ``html.parser`` spends ~2 s on 2 MB of nested ``<div>`` and goes
quadratic on broken tags, and lexbor's HTML5 tree builder takes ~3.6 s on 40,000 nested ``<div>``.
Instead a few regular expressions, each linear by construction (possessive quantifiers that never
cross a ``<``; lazy scans that always end at ``-->``, ``</script>`` or the end of the text), pick out
only what the rules need, in document order:

* fields (``input``/``select``/``textarea``) with ``name``, ``id``, ``autocomplete``, ``placeholder``,
  masks, and their label — ``<label for>``, a wrapping ``<label>``, ``aria-label``, or the text just
  before the field;
* forms (``action``), the title, ``h1``–``h3``, buttons, logos (``img`` whose source, alt, class or id
  says "logo"), the favicon, ``og:site_name``;
* the visible text (scripts, styles and comments removed), block elements ending sentences.

Work is bounded (every regex here costs per ``<`` or per character): the page is read up to its
:data:`MAX_HTML`-th character and its :data:`MAX_TAGS`-th ``<``, and at most :data:`MAX_ELEMENTS` elements,
:data:`MAX_FORMS` forms, :data:`MAX_FIELDS` fields and :data:`MAX_TEXT` characters of text are looked at;
when a page is cut, ``signals["truncated"]`` says so (a degraded reason).

>>> v = analyze_page('<title>Авито</title><form action="//x.top/p"><label for=c>Номер карты</label>'
...                  '<input id=c name=pan><input placeholder="Баланс карты"></form>', "https://a.top/")
>>> v.title, [(f.name, f.shown) for f in v.fields], v.forms[0].action
('Авито', [('pan', 'Номер карты'), ('', 'Баланс карты')], 'https://x.top/p')
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from typing import Any

from yarl import URL

from ..hosts import HostInfo, parse_host
from ..normalize import NormText, normalize_text

__all__ = ["MAX_FIELDS", "MAX_FORMS", "MAX_HTML", "MAX_TAGS", "MAX_TEXT", "Field", "Form", "Link", "PageView",
           "analyze_page", "visible_text"]

MAX_HTML = 524_288  # characters of HTML read (the fetcher keeps 1 MiB): every pass below is linear in it
MAX_TAGS = 20_000  # "<" characters: the page is cut after this many tag starts
MAX_FIELDS = 200  # data fields (a payment form has a handful): each is classified by the page rules
MAX_ELEMENTS = 2_000  # interesting elements (fields, forms, labels, images, links ...) looked at
MAX_FORMS = 50
MAX_TEXT = 200_000
MAX_CAPTURE = 2_000  # characters of raw HTML a title, label, heading or button may span
MAX_ATTR = 500  # characters kept of one attribute value

_ATTRS = r"""(?:[^<>"']++|"[^"<]*+"|'[^'<]*+'|["'])*+"""
_DROP_RE = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|template)\b[^<>]*+>.*?(?:</\1\s*>|\Z)", re.DOTALL | re.IGNORECASE
)
_BLOCK_RE = re.compile(
    rf"</?(?:p|div|br|li|ul|ol|tr|td|th|table|h[1-6]|form|section|article|header|footer|label|button|option|"
    rf"title|hr|dd|dt|nav|aside|main)\b{_ATTRS}>",
    re.IGNORECASE,
)
_ANY_TAG_RE = re.compile(rf"</?[a-zA-Z][^<>\s/]*+{_ATTRS}>|<![^<>]*+>")
_TAG_RE = re.compile(
    rf"<(/?)(input|select|textarea|form|label|title|h[1-3]|img|meta|link|button|a)(?=[\s/>])({_ATTRS})>", re.IGNORECASE
)
_ATTR_RE = re.compile(r"""([^\s"'<>/=]++)(?:\s*+=\s*+("[^"]*+"|'[^']*+'|[^\s"'<>=`]++))?""")
#: A run of spaces other than one plain space (which would be replaced by itself: 2 MB of text has 160,000).
_SPACE_RE = re.compile(r" [ \t\r\f\v\xa0]++|[\t\r\f\v\xa0][ \t\r\f\v\xa0]*+")
#: A whole whitespace run holding a newline: it starts where a run starts (after a non-space), so a long
#: run without a newline is tried once, not from each of its characters.
_NEWLINE_RUN_RE = re.compile(r"(?<!\s)[^\S\n]*+\n\s*+")


def _lines(text: str) -> str:
    """Each whitespace run holding a newline becomes one newline (other runs stay as they are).

    Same result as ``re.sub(r"\\s*\\n\\s*", "\\n", text)``, but linear: that regex retries every
    start inside a long run of spaces ``_SPACE_RE`` leaves alone (``\\u2003``, ``\\x1c`` ...), which
    is quadratic (40,000 em spaces: 5 s). One substitution in C, no Python call per run (2 MB of text
    has 160,000 runs).

    >>> _lines("a \\u2003\\n\\n b\\u2003\\u2003c")
    'a\\nb\\u2003\\u2003c'
    """
    return _NEWLINE_RUN_RE.sub("\n", text) if "\n" in text else text


_CAPTURED = frozenset({"title", "label", "h1", "h2", "h3", "button", "a"})
MAX_LINKS = 500

#: Support-chat widgets kits embed (a scripted "operator" talks the victim through the card form),
#: found in the raw markup (script sources, inline loaders, iframes) before scripts are dropped.
_WIDGET_VENDORS: tuple[tuple[str, tuple[str, ...]], ...] = (  # vendor, lowercase markers (plain substrings)
    ("jivosite", ("jivosite.com", "jivosite.ru", "code.jivo.ru", "jivo_api", "jivo_config", "jivo_onload", "jivo-iframe")),
    ("tawk.to", ("embed.tawk.to", "tawk_api")),
    ("livechat", ("livechatinc.com", "__lc.license", "livechatwidget")),
    ("crisp", ("client.crisp.chat", "$crisp", "crisp_website_id")),
    ("tidio", ("code.tidio.co",)),
    ("chatra", ("call.chatra.io", "chatraid")),
    ("talk-me", ("lcab.talk-me.ru",)),
    ("replain", ("widget.replain.cc",)),
    ("smartsupp", ("smartsuppchat.com",)),
)
_CHAT_WORDS = ("chat", "consult", "operator")
MAX_CHAT_HITS = 200  # occurrences of a chat word whose surroundings are looked at
#: A home-made chat block: an element whose class or id says so.
_CHAT_BLOCK_RE = re.compile(
    r"""\b(?:class|id)\s*+=\s*+["']?[^"'<>]{0,80}?\b(?:live[-_]?chat|support[-_]?chat|chat[-_]?(?:widget|support|box|"""
    r"""operator|window|bubble|popup)|online[-_]?(?:consult\w*|support)|consultant|operator[-_]?chat|help[-_]?chat)""",
    re.IGNORECASE,
)
#: A chat caption: a whole short line of the visible text.
_CHAT_CAPTION_RE = re.compile(
    r"^(?:служба поддержки(?: онлайн)?|онлайн[- ]консультант|онлайн[- ]поддержка|чат (?:с )?(?:поддержк(?:ой|и)|оператором)"
    r"|оператор(?: поддержки)? онлайн|напишите нам,? мы онлайн|support chat|live chat|chat with (?:us|support)"
    r"|online support|czat z (?:konsultantem|obsługą)|чат підтримки|онлайн[- ]консультант)$",
    re.IGNORECASE | re.MULTILINE,
)
_FIELDS = frozenset({"input", "select", "textarea"})
_NOT_DATA = frozenset({"hidden", "submit", "button", "image", "reset", "checkbox", "radio", "file"})


@dataclass(frozen=True, slots=True)
class Field:
    """One form field that takes data (not hidden, not a button).

    label: the best human text for it — ``<label>``, ``aria-label``, else the text just before it
    mask:  input-mask attributes (``data-mask``, ``data-inputmask``, ``pattern``) joined
    form:  index in :attr:`PageView.forms` of the form holding it, or None
    """

    tag: str
    type: str
    name: str
    id: str
    autocomplete: str
    placeholder: str
    label: str
    mask: str
    maxlength: str
    form: int | None

    @property
    def shown(self) -> str:
        """What a person sees for this field (the evidence in findings)."""
        return self.label or self.placeholder or self.name or self.id or self.autocomplete or self.tag


@dataclass(frozen=True, slots=True)
class Form:
    """A form: where it sends its data (absolute URL; the page's own URL when ``action`` is empty).

    text: characters of visible text inside the form (labels, captions, buttons), for forms with fields
    """

    action: str
    method: str
    fields: int
    text: int = 0


@dataclass(frozen=True, slots=True)
class Link:
    """An ``<a href>``: absolute target, its text, and the index of the form holding it (or None)."""

    href: str
    text: str
    form: int | None


@dataclass
class PageView:
    """What page matchers see (scope ``page``).

    url, host:      the page's address (final URL after redirects) and its parsed host
    official_brand: the registry brand whose official domain ``host`` is, or None
    title, site_name, headings, buttons, logos: texts and image names that say whose page it is
    fields, forms:  what the page asks for and where it sends it
    links:          the ``<a href>`` of the page (at most MAX_LINKS), for "a page that is one big form"
    widgets:        support-chat widgets shown: a vendor (``jivosite``, ``tawk.to`` ...), ``chat block``
                    (an element whose class/id says chat/consultant), or a chat caption ("Онлайн-консультант")
    text:           the visible text (capped at MAX_TEXT); ``norm`` its normalized form
    signals:        degraded notes: ``truncated``, ``fetch_refused``, ``fetch_failed``
    memo:           per-page work shared by matchers (like ``MessageView.memo``)
    """

    url: str
    host: HostInfo | None
    official_brand: Any = None
    title: str = ""
    site_name: str = ""
    headings: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()
    logos: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    forms: tuple[Form, ...] = ()
    links: tuple[Link, ...] = ()
    widgets: tuple[str, ...] = ()
    text: str = ""
    signals: dict[str, str] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)
    _norm: NormText | None = field(default=None, repr=False)

    @property
    def norm(self) -> NormText:
        if self._norm is None:
            self._norm = normalize_text(self.text)
        return self._norm

    @property
    def main_form(self) -> int | None:
        """Index of the form with the most data fields (the first on a tie), or None without one."""
        best = max(range(len(self.forms)), key=lambda i: (self.forms[i].fields, -i), default=None)
        return best if best is not None and self.forms[best].fields else None


def _attrs(body: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR_RE.finditer(body, 0, 20_000):
        name = m.group(1).lower()
        if name in out:
            continue
        value = m.group(2) or ""
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        out[name] = html_lib.unescape(value[:MAX_ATTR]).strip() if "&" in value else value[:MAX_ATTR].strip()
        if len(out) >= 64:
            break
    return out


def visible_text(fragment: str, limit: int = MAX_TEXT) -> str:
    """Text of an HTML fragment (comments, scripts, styles dropped), one line per block element.

    >>> visible_text("<p>Номер&nbsp;карты</p><script>x='<p>'</script><b>CVV</b>")
    'Номер карты\\nCVV'
    """
    text = _DROP_RE.sub(" ", fragment)
    text = _BLOCK_RE.sub("\n", text)
    text = _ANY_TAG_RE.sub(" ", text)
    if len(text) > 2 * limit:
        text = text[: 2 * limit]
    text = _lines(_SPACE_RE.sub(" ", text)).strip()
    if "&" in text:
        text = html_lib.unescape(text).replace("\xa0", " ")
    return text[:limit]


def _short(fragment: str) -> str:
    if "<" not in fragment and "&" not in fragment:
        return " ".join(fragment[:300].split())
    return visible_text(fragment[:MAX_CAPTURE], 300).replace("\n", " ")


def _caption(before: str) -> str:
    """The text just before a field if it reads like a caption (short, not a sentence), else ``""``.

    >>> _caption("<div>Остаток на карте</div>"), _caption("<p>Баланс можно узнать в приложении.</p>")
    ('Остаток на карте', '')
    """
    line = visible_text(before, 300).rsplit("\n", 1)[-1]
    return line if len(line) <= 40 and not line.endswith((".", "!", "?")) else ""


def _absolute(base: str, ref: str) -> str:
    try:
        return str(URL(base).join(URL(ref))) if ref else base
    except (ValueError, TypeError):
        return ref


class _Scan:
    """One pass over the interesting tags of a cleaned page."""

    def __init__(self, doc: str, url: str):
        self.doc, self.url = doc, url
        self.fields: list[dict[str, Any]] = []
        self.forms: list[dict[str, Any]] = []
        self.form: int | None = None
        self.open: dict[str, tuple[int, dict[str, str]]] = {}
        self.title = ""
        self.site_name = ""
        self.headings: list[str] = []
        self.buttons: list[str] = []
        self.logos: list[str] = []
        self.label_for: dict[str, str] = {}
        self.links: list[dict[str, Any]] = []
        self.last_end = 0
        self.truncated = False

    def run(self) -> None:
        opened = 0
        for m in _TAG_RE.finditer(self.doc):
            closing, tag, body = m.group(1), m.group(2).lower(), m.group(3)
            if closing:
                self._close(tag, m.start())
                continue
            opened += 1
            if opened > MAX_ELEMENTS or (tag == "form" and len(self.forms) >= MAX_FORMS):
                self.truncated = True
                if opened > MAX_ELEMENTS:
                    break
                continue
            self._open(tag, _attrs(body), m)

    def _open(self, tag: str, a: dict[str, str], m: re.Match[str]) -> None:
        if tag in _FIELDS:
            self._field(tag, a, m)
        elif tag == "form":
            if self.form is not None:  # forms do not nest: an unclosed form ends where the next begins
                self.forms[self.form]["end"] = m.start()
            self.forms.append({"action": _absolute(self.url, a.get("action", "")),
                               "method": a.get("method", "get").lower(), "fields": 0, "start": m.end(), "end": None})
            self.form = len(self.forms) - 1
            self.last_end = max(self.last_end, m.end())
        elif tag == "img":
            src, alt = a.get("src", ""), a.get("alt", "")
            meta = " ".join((src, alt, a.get("class", ""), a.get("id", ""))).lower()
            if "logo" in meta:
                self.logos.append(f"{alt} {src.rsplit('/', 1)[-1]}".strip())
        elif tag == "meta":
            prop = (a.get("property") or a.get("name") or "").lower()
            if prop in ("og:site_name", "application-name") and not self.site_name:
                self.site_name = a.get("content", "")[:200]
        elif tag == "link" and "icon" in a.get("rel", "").lower():
            self.logos.append(a.get("href", "").rsplit("/", 1)[-1][:200])
        elif tag == "a" and a.get("href") and len(self.links) < MAX_LINKS:
            self.links.append({"href": _absolute(self.url, a["href"]), "text": "", "form": self.form, "pos": m.end()})
        if tag in _CAPTURED:
            self.open[tag] = (m.end(), a)
        if tag == "input" and a.get("type", "").lower() in ("submit", "button") and a.get("value"):
            self.buttons.append(a["value"])

    def _close(self, tag: str, pos: int) -> None:
        if tag == "form":
            if self.form is not None:
                self.forms[self.form]["end"] = pos
            self.form = None
            return
        start = self.open.pop(tag, None)
        if tag == "a" and start is not None and not _is_button(start[1]):
            if self.links and self.links[-1]["pos"] == start[0] and pos - start[0] <= MAX_CAPTURE:
                self.links[-1]["text"] = _short(self.doc[start[0]:pos])
            return
        if start is None or (tag in ("button", "a") and len(self.buttons) >= 100) or (
            tag[0] == "h" and len(self.headings) >= 50
        ):
            return
        text = _short(self.doc[start[0]:pos]) if pos - start[0] <= MAX_CAPTURE else ""
        if tag == "title" and not self.title:
            self.title = text
        elif tag in ("h1", "h2", "h3") and text:
            self.headings.append(text)
        elif tag in ("button", "a") and text:
            self.buttons.append(text)
        elif tag == "label" and text:
            target = start[1].get("for")
            if target:
                self.label_for[target] = text
            else:
                for f in self.fields:
                    if f["pos"] >= start[0] and not f["label"]:
                        f["label"] = text

    def _field(self, tag: str, a: dict[str, str], m: re.Match[str]) -> None:
        ftype = a.get("type", "text").lower() if tag == "input" else tag
        if ftype in _NOT_DATA or len(self.fields) >= MAX_FIELDS:
            self.truncated = self.truncated or len(self.fields) >= MAX_FIELDS
            self.last_end = m.end()
            return
        near = "" if "label" in self.open else _caption(self.doc[max(self.last_end, m.start() - 300):m.start()])
        mask = " ".join(a[k] for k in ("data-mask", "data-inputmask", "mask", "pattern", "data-pattern") if k in a)
        self.fields.append({
            "tag": tag, "type": ftype, "name": a.get("name", ""), "id": a.get("id", ""),
            "autocomplete": a.get("autocomplete", "").lower(), "placeholder": a.get("placeholder", ""),
            "label": a.get("aria-label", "") or a.get("title", ""), "near": near, "mask": mask,
            "maxlength": a.get("maxlength", ""), "form": self.form, "pos": m.start(),
        })
        if self.form is not None:
            self.forms[self.form]["fields"] += 1
        self.last_end = m.end()


def _is_button(a: dict[str, str]) -> bool:
    return "btn" in a.get("class", "").lower() or "button" in a.get("class", "").lower() or a.get("role") == "button"


def _cut(html: str) -> tuple[str, bool]:
    """The page up to its MAX_HTML-th character and MAX_TAGS-th ``<`` (every regex here costs per ``<``),
    and whether it was cut."""
    cut = len(html) > MAX_HTML
    html = html[:MAX_HTML]
    if html.count("<") <= MAX_TAGS:
        return html, cut
    after = html.split("<", MAX_TAGS)[-1]  # what follows the MAX_TAGS-th "<"
    return html[:len(html) - len(after) - 1], True


def _widgets(markup: str, doc: str, text: str) -> tuple[str, ...]:
    """Support-chat widgets of a page: vendors in the raw markup, chat blocks, chat captions.

    Linear and cheap on any input: vendors are plain substring tests on the lowercased markup; the
    chat-block regex only runs on a short window before each of the first occurrences of a chat word.
    """
    low = markup.lower()
    found = [name for name, markers in _WIDGET_VENDORS if any(m in low for m in markers)]
    low_doc = doc.lower() if doc is not markup else low
    block = False
    for word in _CHAT_WORDS:
        pos, seen = low_doc.find(word), 0
        while pos >= 0 and seen < MAX_CHAT_HITS and not block:
            block = _CHAT_BLOCK_RE.search(doc, max(0, pos - 100), pos + 30) is not None
            pos, seen = low_doc.find(word, pos + 1), seen + 1
        if block:
            found.append("chat block")
            break
    m = _CHAT_CAPTION_RE.search(text)
    if m:
        found.append(f"«{m.group(0)}»")
    return tuple(found)


def _form_text(doc: str, forms: list[dict[str, Any]]) -> None:
    """Characters of visible text inside each form with fields (the spans are disjoint: linear)."""
    for f in forms:
        end = len(doc) if f["end"] is None else f["end"]
        f["text"] = len(visible_text(doc[f["start"]:end], MAX_TEXT)) if f["fields"] else 0


def analyze_page(html: str, url: str, *, official_brand: Any = None) -> PageView:
    """Analyze a page's HTML as if fetched from ``url``. Never raises on any ``str``."""
    try:
        host = parse_host(URL(url).raw_host or "")
    except (ValueError, TypeError):
        host = None
    markup, cut = _cut(html)
    doc = _DROP_RE.sub(" ", markup)
    scan = _Scan(doc, url)
    scan.run()
    fields = tuple(
        Field(tag=f["tag"], type=f["type"], name=f["name"], id=f["id"], autocomplete=f["autocomplete"],
              placeholder=f["placeholder"], label=scan.label_for.get(f["id"]) or f["label"] or f["near"],
              mask=f["mask"], maxlength=f["maxlength"], form=f["form"])
        for f in scan.fields
    )
    text = visible_text(doc, MAX_TEXT + 1)
    _form_text(doc, scan.forms)
    signals: dict[str, str] = {}
    if cut or scan.truncated or len(text) > MAX_TEXT:
        signals["truncated"] = (f"{len(html)} characters of HTML: checked up to {MAX_HTML} characters, "
                                f"{MAX_TAGS} tags, {MAX_FIELDS} fields, {MAX_TEXT} characters of text")
    return PageView(
        url=url, host=host, official_brand=official_brand, title=scan.title, site_name=scan.site_name,
        headings=tuple(scan.headings), buttons=tuple(scan.buttons[:100]), logos=tuple(scan.logos[:50]),
        fields=fields, forms=tuple(Form(action=f["action"], method=f["method"], fields=f["fields"], text=f["text"])
                                   for f in scan.forms),
        links=tuple(Link(href=x["href"], text=x["text"], form=x["form"]) for x in scan.links),
        widgets=_widgets(markup, doc, text[:MAX_TEXT]), text=text[:MAX_TEXT], signals=signals,
    )
