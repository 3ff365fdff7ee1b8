"""LookalikeEngine: which brand does a host (or a URL path) impersonate, how, and how surely."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from rapidfuzz import process
from rapidfuzz.distance import OSA

from ..hosts import HostInfo
from . import explain
from .registry import Brand, BrandRegistry, LookalikeParams
from .skeleton import loose, skeleton, visual

__all__ = ["KINDS", "LookalikeEngine", "LookalikeHit"]

#: Kinds of hits, in the order they win ties.
KINDS = ("homoglyph", "idn_brand", "brand_in_subdomain", "typosquat", "tld_swap", "combosquat", "brand_in_path")
_KIND_RANK = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class LookalikeHit:
    """One way a host impersonates a brand.

    kind:     "homoglyph" | "idn_brand" | "typosquat" | "combosquat" | "brand_in_subdomain" | "tld_swap"
              | "brand_in_path"
    brand:    the impersonated :class:`Brand`
    evidence: substring of ``host.unicode`` (or ``host.ascii``; of the path for brand_in_path) that
              impersonates: the label or the dotted fake domain ("аvito", "youla.ru")
    strength: 0..1, how sure (exact skeleton on a foreign domain ~0.95, a weak token lower)
    detail:   {"ru": ..., "en": ...} plain explanation of the difference, plus machine fields:
              "class" (fuzzer-like: homoglyph, omission, repetition, transposition, vowel-swap, keyboard,
              bitsquat, insertion, addition, hyphenation, dot-insertion, combo, tld-swap, subdomain, path),
              "official" (the real domain to show), "where" ("domain"/"subdomain"/"path"), positions...
              Treat it as read-only: hits are cached and shared.
    """

    kind: str
    brand: Brand
    evidence: str
    strength: float
    detail: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class _Name:
    brand: Brand
    name: str          # canonical, hyphen-free ("alfabank")
    generic: bool
    short: bool
    variant: bool      # the pattern is a look-alike variant ("oix" for "olx"), not the name itself


def _trie_regex(words: list[str]) -> re.Pattern:
    """A compiled alternation factored as a trie (fast: one branch per first letter)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict) -> str:
        end = "" in node
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch != ""]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if end:
            return "(?:" + body + ")?"
        return body

    return re.compile(build(trie))


def _variants(name: str, short: bool) -> set[str]:
    """Single look-alike swaps: m->rn, w->vv, d->cl, and i<->l for names longer than ``short``."""
    out = set()
    swaps = (("m", "rn"), ("w", "vv"), ("d", "cl")) + (() if short else (("i", "l"), ("l", "i")))
    for i, c in enumerate(name):
        for a, b in swaps:
            if c == a:
                out.add(name[:i] + b + name[i + 1:])
    out.discard(name)
    return out


_SEP = re.compile(r"-+")
_DIGITS = re.compile(r"[0-9]+")
_ALPHA_HEAD = re.compile(r"[a-z]+")
_PATH_SPLIT = re.compile(r"[/?#&=;,+!$'()*\\\s]+")


class LookalikeEngine:
    """Pure, per-host cached lookalike checks against a :class:`BrandRegistry`.

    >>> from phishguard.lookalike import host_of
    >>> eng = LookalikeEngine(BrandRegistry.default())
    >>> [(h.kind, h.brand.id, h.evidence) for h in eng.check(host_of("youla.ru-receive.online"))]
    [('brand_in_subdomain', 'youla', 'youla.ru')]
    >>> eng.check(host_of("m.avito.ru"))
    []
    """

    def __init__(self, registry: BrandRegistry, params: LookalikeParams | None = None) -> None:
        self.registry = registry
        self.params = p = params or registry.params
        self.s = p.strength
        self._cache: dict = {}
        # words: rank 3 scam, 2 filler, 1 geo
        words: dict[str, int] = {}
        for w in registry.geo_words:
            words[w] = 1
        for w in registry.filler_words:
            words[w] = max(words.get(w, 0), 2)
        for w in registry.scam_words | frozenset(k for b in registry for k in b.keywords):
            words[w] = 3
        self._words = words
        self._maxword = max((len(w) for w in words), default=1)
        self._wordy_cache: dict[str, int] = {}
        self._gsuf = tuple(sorted(registry.generic_suffixes, key=len, reverse=True))
        # names
        self._names: dict[str, list[_Name]] = {}
        self._official_dotted: dict[str, Brand] = {}
        self._exact_visual: dict[str, list[_Name]] = {}
        self._exact_loose: dict[str, list[_Name]] = {}
        self._generic_tlds: dict[str, frozenset[str]] = {}
        self._brand_tlds: dict[str, frozenset[str]] = {
            b.id: frozenset(t for d in b.official_domains for t in d.split(".")[1:]) for b in registry}
        buckets: dict[int, list[tuple[str, _Name]]] = {}
        aliases: dict[str, list[Brand]] = {}
        for b in registry:
            for n in b.all_names:
                plain = n.replace("-", "")
                nm = _Name(b, plain, n in b.generic_names, len(plain) <= p.short_name_len, False)
                pats = {skeleton(plain), skeleton(n)}
                for pat in pats:
                    self._names.setdefault(pat, []).append(nm)
                if not nm.generic:
                    for v in _variants(plain, nm.short):
                        self._names.setdefault(v, []).append(_Name(b, plain, nm.generic, nm.short, True))
                self._exact_visual.setdefault(visual(plain), []).append(nm)
                self._exact_loose.setdefault(loose(plain), []).append(nm)
                if len(plain) >= p.min_typo_len:
                    buckets.setdefault(len(plain), []).append((plain, nm))
                if nm.generic:  # typos of an ordinary word count only on the brand's own TLD ("pochhta.ru")
                    self._generic_tlds[plain] = frozenset(
                        d.split(".", 1)[1] for d in b.official_domains if d.split(".", 1)[0] == n)
            for d in b.official_domains:
                self._official_dotted.setdefault(skeleton(d), b)
            for a in b.aliases:
                aliases.setdefault(a.replace("-", ""), []).append(b)
        self._token_re = _trie_regex(sorted(self._names))
        self._aliases = aliases
        self._alias_re = _trie_regex(sorted(aliases)) if aliases else None
        self._buckets: dict[int, tuple[list[str], list[_Name]]] = {}
        for L in range(1, 64):
            items = [it for k in range(L - 2, L + 3) for it in buckets.get(k, ())]
            if items:
                self._buckets[L] = ([s for s, _ in items], [n for _, n in items])

    # ------------------------------------------------------------------------------------ public
    def check(self, host: HostInfo, path: str = "") -> list[LookalikeHit]:
        """Hits for ``host`` (and ``path`` if given), strongest first; [] for official domains."""
        key = host.ascii
        hits = self._cache.get(key)
        if hits is None:
            hits = self._check_host(host)
            if self.params.cache_size:
                if len(self._cache) >= self.params.cache_size:
                    self._cache.clear()
                self._cache[key] = hits
        if path and host.ip is None and self.registry.official_brand(host) is None:
            return _ordered(list(hits) + self._check_path(host, path))
        elif path and host.ip is not None:
            return _ordered(self._check_path(host, path))
        return list(hits)

    # --------------------------------------------------------------------------------- internals
    def _wordy(self, s: str) -> int:
        """Rank of the best segmentation of ``s`` into known words: 3 scam, 2 filler, 1 geo, -1 none."""
        r = self._wordy_cache.get(s)
        if r is not None:
            return r
        n = len(s)
        if n == 0:
            return 0
        if n > 60:
            return -1
        words, mx = self._words, self._maxword
        if n <= 2:
            r = words.get(s, -1)
        else:
            # best[k][i]: best rank covering s[:i] with k words of <= 2 letters (at most one allowed:
            # "platform" is not "pl"+"at"+"form")
            best = [[-1] * (n + 1), [-1] * (n + 1)]
            best[0][0] = 0
            for i in range(n):
                for k in (0, 1):
                    if best[k][i] < 0:
                        continue
                    for j in range(i + 1, min(n, i + mx) + 1):
                        w = words.get(s[i:j])
                        if w is None:
                            continue
                        k2 = k + (j - i <= 2)
                        if k2 <= 1 and max(best[k][i], w) > best[k2][j]:
                            best[k2][j] = max(best[k][i], w)
            r = max(best[0][n], best[1][n])
        if len(self._wordy_cache) < 100_000:
            self._wordy_cache[s] = r
        return r

    def _check_host(self, host: HostInfo) -> tuple[LookalikeHit, ...]:
        if host.ip is not None or not host.domain:
            return ()
        if self.registry.official_brand(host) is not None:
            return ()
        labels = (host.unicode or host.ascii).split(".")
        if len(labels) != host.ascii.count(".") + 1:
            labels = host.ascii.split(".")
        dom_i = len(host.subdomain.split(".")) if host.subdomain else 0
        if dom_i >= len(labels):
            return ()
        sks = [skeleton(x) for x in labels]
        reg_unicode = ".".join(labels[dom_i:])
        found: dict[tuple[str, int], LookalikeHit] = {}
        ctx = _Ctx(host, labels, sks, dom_i, reg_unicode)

        for i in range(dom_i + 1):
            for m in self._token_re.finditer(sks[i]):
                for nm in self._names[m.group()]:
                    self._token_hit(ctx, i, m.start(), m.end(), nm, found)
            if self._alias_re is not None and not labels[i].isascii():
                self._alias_hits(ctx, i, found)
        for i in range(dom_i):
            self._dotted_hit(ctx, i, found)
        self._typo_hits(ctx, found)
        if not found:
            return ()
        reg = host.registered_domain
        return tuple(_ordered([h for h in found.values() if reg not in h.brand.known_legit]))

    # -- tokens: exact names, homoglyphs, combos, TLD swaps, brand in subdomain
    def _token_hit(self, ctx: _Ctx, i: int, s: int, e: int, nm: _Name, found: dict) -> None:
        raw, sk = ctx.labels[i], ctx.sks[i]
        ps = s
        while ps > 0 and raw[ps - 1] != "-" and not raw[ps - 1].isdigit():
            ps -= 1
        pe = e
        while pe < len(raw) and raw[pe] != "-" and not raw[pe].isdigit():
            pe += 1
        head, tail = sk[ps:s], sk[e:pe]
        if head and self._wordy(head) < 2:
            return  # the name is inside another word ("gravitonprofit")
        sep = "".join("-" if (c == "-" or c.isdigit()) else sk[j] for j, c in enumerate(raw))
        others = [x for x in _SEP.split(sep[:ps] + "-" + sep[pe:]) if x]
        digits = _DIGITS.findall(raw[:s] + "-" + raw[e:])
        extras = [x for x in (head, tail) if x] + others
        ranks = [self._wordy(x) for x in extras]
        written = raw[s:e]
        spelled = written == nm.name
        nonascii = not written.isascii()
        is_reg = i == ctx.dom_i
        st = self.s
        b = nm.brand
        detail: dict
        kind: str
        strength: float
        if not extras and not digits:
            if not spelled:
                detail = explain.lookalike_chars(written, nm.name) if len(written) == len(nm.name) else \
                    explain.multi_char(written, nm.name)
                if is_reg:
                    kind = "homoglyph" if nonascii else "typosquat"
                    strength = st.homoglyph if nonascii else st.typosquat_visual
                    if not nonascii:
                        detail["class"] = "lookalike"
                else:
                    kind, strength = "brand_in_subdomain", st.subdomain_brand
                    detail = _prefix_sub(detail, ctx)
            elif nm.generic:
                return
            elif is_reg:
                kind, strength = "tld_swap", st.tld_swap
                off = b.official_for(ctx.host.suffix)
                detail = {"ru": f"настоящий сайт — {off}, а здесь то же название в чужой зоне .{ctx.host.suffix}",
                          "en": f"the real site is {off}; this is the same name on .{ctx.host.suffix}, "
                                f"a domain the brand does not use", "class": "tld-swap"}
            else:
                kind, strength = "brand_in_subdomain", st.subdomain_brand
                detail = _sub_detail(nm.name, ctx)
            self._add(found, (b.id, i), kind, b, labels_ev(ctx, i), strength, detail, ctx, i)
            return
        all_wordy = all(r >= 0 for r in ranks)
        has_scam = any(r == 3 for r in ranks)
        if nm.generic and not has_scam:
            return
        words = [x for x in extras]
        if all_wordy:
            if has_scam:
                kind, rule = "combosquat", "combosquat_scam"
            elif ranks and max(ranks) == 1 and not digits:
                if nm.short and tail and tail not in self._brand_tlds[b.id]:
                    return  # "ozonee": a short name glued to a country the brand does not serve
                kind, rule = "tld_swap", "tld_swap_geo"
            elif nm.short and is_reg:
                return  # "ozone", "dhl33", "mydpd": short names need a scam word or a country code
            else:
                kind, rule = "combosquat", "combosquat_filler"
            strength = getattr(st, rule)
        else:
            if nm.short:
                if is_reg:
                    return
                kind, rule = "brand_in_subdomain", "subdomain_brand" if not tail else "subdomain_glued"
                strength = getattr(st, rule) * st.weak_factor
            elif is_reg:
                if not head and not tail and all(len(x) <= 5 for x, r in zip(extras, ranks) if r < 0):
                    # a separate word next to short random tokens ("ae-inpost", "inpost-awg"); long
                    # unrelated words ("reklama-na-yandex") are third-party sites, not kits
                    kind, rule = "combosquat", "combosquat_token"
                elif not head and tail[:2] in self._brand_tlds[b.id] and all(r >= 0 for r in ranks[1:]):
                    # a country the brand serves glued to it, then junk: "inpostplvs", "allegropll"
                    kind, rule = "combosquat", "combosquat_glued"
                elif not head and len(tail) <= self.params.glued_tail_max and all(
                        r >= 0 for x, r in zip(extras, ranks) if x != tail):
                    kind, rule = "combosquat", "combosquat_glued"
                else:
                    return
                strength = getattr(st, rule)
            else:
                kind, rule = "brand_in_subdomain", "subdomain_brand" if not tail else "subdomain_glued"
                strength = getattr(st, rule) * (st.weak_factor if not tail else 1.0)
            if len(raw) > 24:
                strength *= st.weak_factor
        if kind == "tld_swap":
            geo = [x for x in extras if self._words.get(x) == 1]
            off = b.official_for(geo[0]) if geo else b.main_domain
            detail = {"ru": f"к названию {_q(nm.name)} приписан код страны {_q('-'.join(extras))}, "
                            f"но настоящий сайт — {off}",
                      "en": f"the country code {_q('-'.join(extras))} is glued to {_q(nm.name)}, "
                            f"but the real site is {off}", "class": "tld-swap", "words": words,
                      "official": off}
        elif rule == "combosquat_glued":
            detail = {"ru": f"к названию {_q(nm.name)} дописано {_q(tail)}: {_q(raw[ps:pe])}",
                      "en": f"{_q(tail)} is glued to the name {_q(nm.name)}: {_q(raw[ps:pe])}",
                      "class": "combo", "words": words, "digits": digits}
        else:
            detail = explain.combo(nm.name, words, digits)
        detail["rule"] = rule
        if not spelled:
            lk = explain.lookalike_chars(written, nm.name) if len(written) == len(nm.name) else \
                explain.multi_char(written, nm.name)
            detail["ru"] = lk["ru"] + "; " + detail["ru"]
            detail["en"] = lk["en"] + "; " + detail["en"]
            detail["chars"] = lk.get("chars", [])
            if nonascii:
                kind, strength = "homoglyph", max(strength, st.homoglyph * (1 if all_wordy else st.weak_factor))
            elif kind in ("combosquat", "tld_swap") and is_reg:
                kind = "typosquat"
        if not is_reg:
            kind = "brand_in_subdomain" if kind in ("combosquat", "tld_swap") else kind
            detail = _prefix_sub(detail, ctx)
        self._add(found, (b.id, i), kind, b, labels_ev(ctx, i), strength, detail, ctx, i)

    def _alias_hits(self, ctx: _Ctx, i: int, found: dict) -> None:
        raw = ctx.labels[i].casefold().replace("ё", "е")
        for m in self._alias_re.finditer(raw):
            s, e = m.span()
            if s > 0 and raw[s - 1] not in "-0123456789":
                continue
            whole = s == 0 and e == len(raw)
            token = whole or ((e == len(raw) or raw[e] in "-0123456789") and True)
            for b in self._aliases[m.group()]:
                short = len(m.group()) <= self.params.short_name_len
                if short and not token:
                    continue
                strength = self.s.idn_brand if whole else self.s.idn_brand * self.s.weak_factor
                is_reg = i == ctx.dom_i
                kind = "idn_brand" if is_reg else "brand_in_subdomain"
                detail = {"ru": f"название {_q(m.group())} написано по-русски на чужом сайте "
                                f"{ctx.reg_unicode}; настоящий сайт — {b.main_domain}",
                          "en": f"the name {_q(m.group())} is written in Cyrillic on a foreign site "
                                f"{ctx.reg_unicode}; the real site is {b.main_domain}",
                          "class": "idn-brand"}
                self._add(found, (b.id, i), kind, b, ctx.labels[i], strength, detail, ctx, i)

    def _dotted_hit(self, ctx: _Ctx, i: int, found: dict) -> None:
        first = ctx.sks[i]
        if first not in self._names:
            return
        n = len(ctx.sks)
        for k in (1, 2):
            if i + k >= n:
                break
            parts = list(ctx.sks[i + 1:i + 1 + k])
            last = parts[-1]
            m = _ALPHA_HEAD.match(last)
            if not m:
                break
            truncated = m.group() != last
            parts[-1] = m.group()
            d = first + "." + ".".join(parts)
            b = self._official_dotted.get(d)
            if b is None:
                if truncated:
                    break
                continue
            raw_ev = ".".join(ctx.labels[i:i + 1 + k])
            ev = raw_ev[:len(d)]
            real = ctx.reg_unicode
            detail = {"ru": f"{_q(d)} — только начало адреса; на самом деле это сайт {real}",
                      "en": f"{_q(d)} is only the beginning of the address; the actual site is {real}",
                      "class": "subdomain", "official": d, "where": "subdomain"}
            written = ctx.labels[i]
            if written != first and len(written) == len(first):
                lk = explain.lookalike_chars(written, first)
                detail["ru"] += "; " + lk["ru"]
                detail["en"] += "; " + lk["en"]
            self._add(found, (b.id, i), "brand_in_subdomain", b, ev, self.s.subdomain_official, detail, ctx, i)
            return

    _PLAUSIBLE = frozenset({"omission", "repetition", "transposition", "keyboard", "vowel-swap", "bitsquat",
                            "addition", "lookalike", "visual", "hyphenation"})

    def _suffix_ok(self, q: str, name: str, allowed: int) -> bool:
        """A typo of "sberbank" must be in its distinctive part "sber" only if that part is long enough."""
        for suf in self._gsuf:
            if name.endswith(suf) and len(name) > len(suf):
                head = name[: -len(suf)]
                return q.startswith(head) or len(head) >= 3
        return True

    def _typo_hits(self, ctx: _Ctx, found: dict) -> None:
        p, st = self.params, self.s
        dom_i = ctx.dom_i
        queries: list[tuple[int, str, list[str]]] = []  # (label index, query text, other words)
        for i in range(dom_i + 1):
            raw = ctx.labels[i]
            if len(raw) < p.min_typo_len:
                continue
            queries.append((i, raw, []))
            if "-" in raw or any(c.isdigit() for c in raw):
                pieces = [x for x in re.split(r"[-0-9]+", raw) if x]
                if len(pieces) > 1:
                    for x in pieces:
                        if len(x) >= p.min_typo_len:
                            queries.append((i, x, [y for y in pieces if y is not x]))
        if dom_i >= 1 and len(ctx.labels[dom_i - 1]) <= 12:
            joined = ctx.labels[dom_i - 1] + ctx.labels[dom_i]
            for nm in self._exact_visual.get(visual(joined), ()):
                if nm.generic:
                    continue
                ev = ctx.labels[dom_i - 1] + "." + ctx.labels[dom_i]
                detail = {"ru": f"в название {_q(nm.name)} вставлена точка: {_q(ev)}; настоящий сайт — "
                                f"{nm.brand.main_domain}",
                          "en": f"a dot is inserted into {_q(nm.name)}: {_q(ev)}; the real site is "
                                f"{nm.brand.main_domain}", "class": "dot-insertion", "distance": 1,
                          "rule": "typosquat"}
                self._add(found, (nm.brand.id, dom_i - 1), "typosquat", nm.brand, ev, st.typosquat, detail,
                          ctx, dom_i - 1)
        for i, text, others in queries:
            sk = skeleton(text).replace("-", "")
            if len(sk) < p.min_typo_len:
                continue
            if others and not all(self._wordy(skeleton(o)) >= 0 for o in others):
                continue
            cands: list[tuple[_Name, int]] = [(nm, 0) for nm in self._exact_loose.get(loose(text), ())
                                              if not nm.short]
            bucket = self._buckets.get(len(sk))
            if bucket is not None:
                choices, names = bucket
                for _, d, idx in process.extract(sk, choices, scorer=OSA.distance, score_cutoff=2, limit=3):
                    if d:
                        cands.append((names[idx], int(d)))
            for nm, d in cands:
                if (nm.brand.id, i) in found or sk in nm.brand.not_typos:
                    continue
                if nm.generic and ctx.host.suffix not in self._generic_tlds.get(nm.name, ()):
                    continue
                if d == 0:
                    if sk == nm.name:
                        if "-" not in text:
                            continue  # exact spelling: a token hit
                        detail = explain.typo(skeleton(text), nm.name, 1)
                        rule = "typosquat"
                    elif len(sk) == len(nm.name):
                        detail = explain.lookalike_chars(text.replace("-", ""), nm.name)
                        detail["class"] = "lookalike"
                        rule = "typosquat_visual"
                    else:
                        detail = explain.multi_char(sk, nm.name)
                        rule = "typosquat_visual"
                else:
                    allowed = 2 if len(nm.name) >= p.typo_distance_long_len else 1
                    written = sk
                    if text.isascii() and sk != text:
                        plain = text.replace("-", "")
                        d_raw = OSA.distance(plain, nm.name)
                        if d_raw <= d:
                            d, written = d_raw, plain
                    if d > allowed or not self._suffix_ok(sk, nm.name, allowed):
                        continue
                    detail = explain.typo(written, nm.name, d)
                    if d == 1 and detail["class"] not in self._PLAUSIBLE and not (
                            detail["class"] == "insertion" and detail.get("keyboard")):
                        continue
                    rule = "typosquat" if d == 1 else "typosquat_far"
                strength = getattr(st, rule)
                detail["rule"] = rule
                if i != dom_i:
                    strength *= st.weak_factor
                    detail = _prefix_sub(detail, ctx)
                if others:
                    c = explain.combo(nm.name, [skeleton(o) for o in others], [])
                    detail["ru"] += "; " + c["ru"]
                    detail["en"] += "; " + c["en"]
                kind = "homoglyph" if not text.isascii() else "typosquat"
                self._add(found, (nm.brand.id, i), kind, nm.brand, text, strength, detail, ctx, i)

    def _check_path(self, host: HostInfo, path: str) -> list[LookalikeHit]:
        out: dict[str, LookalikeHit] = {}
        st = self.s
        for seg in _PATH_SPLIT.split(path[:2048])[:32]:
            if not seg or len(seg) > 200:
                continue
            low = unquote(seg).lower()
            sk = skeleton(low)
            for m in self._token_re.finditer(sk):
                s, e = m.span()
                if s > 0 and sk[s - 1] not in "-._~0123456789" and self._wordy(
                        re.split(r"[-._~0-9]", sk[:s])[-1]) < 0:
                    continue
                rest = sk[e:]
                for nm in self._names[m.group()]:
                    b = nm.brand
                    dm = re.match(r"\.[a-z]+(?:\.[a-z]+)?", rest)
                    if dm and (sk[s:e] + dm.group() in self._official_dotted or
                               sk[s:e] + dm.group().rsplit(".", 1)[0] in self._official_dotted):
                        d = sk[s:e] + dm.group()
                        if d not in self._official_dotted:
                            d = d.rsplit(".", 1)[0]
                        strength, cls = st.path_official, "path-official"
                        ev = low[s:s + len(d)]
                    else:
                        tail = re.split(r"[-._~0-9]", rest)
                        words = [t for t in re.split(r"[-._~0-9]+", sk[:s] + "-" + rest) if t]
                        ranks = [self._wordy(w) for w in words]
                        if tail and tail[0] and self._wordy(tail[0]) < 0:
                            continue
                        if any(r == 3 for r in ranks):
                            strength, cls = st.path_brand_scam, "path-combo"
                        elif not words and not nm.generic and not nm.variant:
                            strength, cls = st.path_brand, "path"
                        else:
                            continue
                        d, ev = nm.name, low
                    detail = {"ru": f"{_q(d)} упомянут в пути ссылки, но сам сайт — {host.unicode or host.ascii}",
                              "en": f"{_q(d)} appears in the link's path, but the site itself is "
                                    f"{host.unicode or host.ascii}",
                              "class": cls, "official": b.main_domain, "where": "path"}
                    h = LookalikeHit("brand_in_path", b, ev if ev in path.lower() else seg, strength, detail)
                    if b.id not in out or out[b.id].strength < strength:
                        out[b.id] = h
        return list(out.values())

    def _add(self, found: dict, key: tuple, kind: str, brand: Brand, evidence: str, strength: float,
             detail: dict, ctx: _Ctx, i: int) -> None:
        cur = found.get(key)
        if cur is not None and (cur.strength > strength or (
                cur.strength == strength and _KIND_RANK[cur.kind] <= _KIND_RANK[kind])):
            return
        detail.setdefault("official", brand.official_for(ctx.host.suffix))
        detail.setdefault("where", "domain" if i == ctx.dom_i else "subdomain")
        detail.setdefault("label", ctx.labels[i])
        found[key] = LookalikeHit(kind, brand, evidence, round(min(1.0, strength), 3), detail)


@dataclass(frozen=True, slots=True)
class _Ctx:
    host: HostInfo
    labels: list
    sks: list
    dom_i: int
    reg_unicode: str


def labels_ev(ctx: _Ctx, i: int) -> str:
    return ctx.labels[i]


def _q(s: str) -> str:
    return f"«{s}»"


def _sub_detail(name: str, ctx: _Ctx) -> dict:
    return {"ru": f"{_q(name)} стоит перед чужим адресом; на самом деле это сайт {ctx.reg_unicode}",
            "en": f"{_q(name)} is put in front of a foreign address; the actual site is {ctx.reg_unicode}",
            "class": "subdomain"}


def _prefix_sub(detail: dict, ctx: _Ctx) -> dict:
    d = dict(detail)
    d["ru"] = f"{detail['ru']} — и это лишь начало адреса, на самом деле сайт {ctx.reg_unicode}"
    d["en"] = f"{detail['en']}, and it is only the beginning of the address: the actual site is {ctx.reg_unicode}"
    return d


def _ordered(hits: list[LookalikeHit]) -> list[LookalikeHit]:
    return sorted(hits, key=lambda h: (-h.strength, _KIND_RANK.get(h.kind, 99), h.brand.id))
