"""Property tests: extraction never raises and slices back; host normalization is idempotent."""

from __future__ import annotations

import yarl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from phishguard.extract import extract_urls
from phishguard.hosts import parse_host

# every code point, surrogates and controls included
ANY_CHAR = st.characters(exclude_categories=())

FRAGMENTS = [
    "http://", "https://", "hxxps://", "hxxp[:]//", "://", "www.", "avito", "аvito", "авито", "olx",
    ".", ". ", " .", "[.]", "(.)", "{.}", "[dot]", "(dot)", "。", "．", "｡", "ru", "рф", "рус", "pl",
    "com.ua", "vercel.app", "xn--vito-43d", "xn--p1ai", "@", "\\", "/", "?", "#", ":", ":8080", "-",
    "_", "%31", "%", "[", "]", "(", ")", "«", "»", '"', "'", " ", "\t", "\n", "\x00", "\u200b",
    "\u200d", "\u202e", "\u2066", "\ufeff", "\u00ad", "\u0301", "\ud800", "ＡＶＩＴＯ", "127", "0x7f",
    "0177", "1", "255", "2130706433", "::1", "ivan.petrov", "переходите", "спасибо", "т.е.", "12.05",
]

CHATTY = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(ANY_CHAR, max_size=4)), max_size=40).map(
    "".join
)
TEXTS = st.one_of(st.text(ANY_CHAR, max_size=200), CHATTY)
HOSTISH = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.lists(st.sampled_from(FRAGMENTS[5:75]), min_size=1, max_size=8).map("".join),
    st.from_regex(r"[a-zA-Z0-9\-_.]{1,30}", fullmatch=True),
    st.from_regex(r"(0x[0-9a-f]{0,8}|0[0-7]{0,11}|[0-9]{1,10})(\.(0x[0-9a-f]{0,3}|[0-9]{1,4})){0,4}",
                  fullmatch=True),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_extract_never_raises_and_spans_slice_back(text: str) -> None:
    spans = extract_urls(text)
    previous_end = 0
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start:span.end] == span.raw
        assert span.start >= previous_end
        previous_end = span.end
        assert span.url.startswith(f"{span.scheme or 'https'}://")
        again = parse_host(span.host.ascii)
        assert again is not None and again.ascii == span.host.ascii


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.integers(min_value=0, max_value=5))
def test_max_urls_is_respected(text: str, limit: int) -> None:
    assert len(extract_urls(text, max_urls=limit)) <= limit


@settings(max_examples=800, deadline=None)
@given(HOSTISH)
def test_parse_host_never_raises_and_is_idempotent(raw: str) -> None:
    info = parse_host(raw)
    if info is None:
        return
    again = parse_host(info.ascii)
    assert again is not None
    assert again.ascii == info.ascii
    assert again.registered_domain == info.registered_domain
    assert again.ip == info.ip
    if not info.is_ip:
        shown = parse_host(info.unicode)  # the display form normalizes back to the same machine form
        assert shown is not None and shown.ascii == info.ascii


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True),
       st.sampled_from(["ru", "pl", "com.ua", "xn--p1ai"]))
def test_plain_domains_are_found_in_prose(label: str, suffix: str) -> None:
    host = f"{label}.{suffix}"
    info = parse_host(host)
    assume(info is not None and info.registered_domain == host)  # "pp.ru" is itself a public suffix
    spans = extract_urls(f"Привет! Заходи на {host}, там всё.")
    assert [s.host.ascii for s in spans] == [host]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_yarl_agrees_on_host_and_port(text: str) -> None:
    """No parser differential with yarl (the fetcher's parser) on the URLs we hand out."""
    for span in extract_urls(text):
        for form in (span.url, span.display):
            parsed = yarl.URL(form)
            assert parsed.raw_host == span.host.ascii
            assert parsed.explicit_port == span.port
