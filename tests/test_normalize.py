"""phishguard.normalize: folding for keyword rules and the offset map back to the original text."""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from phishguard import normalize as nz
from phishguard.normalize import (
    CYRILLIC_TO_LATIN,
    DROPPED,
    LATIN_TO_CYRILLIC,
    NormText,
    fold_word,
    normalize_text,
)


def norm(text: str) -> str:
    return normalize_text(text).text


def evidence(text: str, needle: str) -> str:
    """The original text behind the first occurrence of ``needle`` in the normalized text."""
    n = normalize_text(text)
    i = n.text.index(needle)
    return n.original_slice(i, i + len(needle))


# --- stage 1: characters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ба\u200bланс", "баланс"),  # zero-width space
        ("car\u200dd", "card"),  # zero-width joiner
        ("\u202eкарта\u202c", "карта"),  # bidi override
        ("\u2066cvv\u2069", "cvv"),  # bidi isolate
        ("ба\u00adланс", "баланс"),  # soft hyphen
        ("\ufeffоплата", "оплата"),  # BOM
        ("ＣＶＶ", "cvv"),  # fullwidth
        ("ｃａｒｄ １２３", "card 123"),
        ("ﬁnance", "finance"),  # ligature
        ("2\u00a0500\u00a0₽", "2 500 ₽"),  # NBSP
        ("цена\u202f100", "цена 100"),  # narrow NBSP
        ("ещё", "еще"),
        ("ЁЛКА", "елка"),
        ("е\u0308ж", "еж"),  # е + combining diaeresis composes to ё, then ё -> е
        ("БАЛАНС КАРТЫ", "баланс карты"),
        ("CVV Code", "cvv code"),
        ("Straße", "strasse"),
        ("ab\x00cd\x01", "ab cd "),  # control chars become spaces
        ("line1\nline2\tx\r\n", "line1\nline2\tx\r\n"),  # newlines and tabs stay
        ("заказ №5…", "заказ no5..."),  # NFKC
    ],
)
def test_character_folding(text: str, expected: str) -> None:
    assert norm(text) == expected


# --- stage 2: split letters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("б а л а н с", "баланс"),
        ("на б а л а н с е", "на балансе"),
        ("C.V.V", "cvv"),
        ("C.V.V.", "cvv."),
        ("c v v", "cvv"),
        ("C . V . V", "cvv"),
        ("к-а-р-т-ы", "карты"),
        ("к_а_р_т_а", "карта"),
        ("к*а*р*т*а", "карта"),
        ("к|а|р|т|а", "карта"),
        ("к/а/р/т/а", "карта"),
        ("к·а·р·т·а", "карта"),
        ("(к-а-р-т-а)", "(карта)"),
        ("б а л а н с е к-а-р-т-ы", "балансе карты"),  # a new separator starts a new word
        ("т.е. к а р т а", "т.е. карта"),
        ("б a л a н с", "баланс"),  # split and Latin lookalikes at once
        ("p a y m e n t", "payment"),
    ],
)
def test_split_letters_are_joined(text: str, expected: str) -> None:
    assert norm(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a big cat",
        "я и ты",
        "и т.д. и т.п.",
        "4276 1234 5678 9012",
        "1 2 3 4",
        "x.y.z.com",
        "https://t.me/a/b/c",
        "a.b.c@mail.ru",
        "Wi-Fi",
        "смс-код",
    ],
)
def test_normal_text_is_not_joined(text: str) -> None:
    assert norm(text) == text.lower()


def test_chain_into_host_name_keeps_the_host() -> None:
    assert norm("a b c d.com") == "abc d.com"


# --- stage 3: scripts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("бaлaнс", "баланс"),
        ("Aвитo", "авито"),
        ("Пoчтa", "почта"),
        ("кaрты", "карты"),
        ("кapта", "карта"),  # every letter is a lookalike: the message is Cyrillic
        ("пoлучите oплату пo ссылкe", "получите оплату по ссылке"),
        ("Я oплатил тoвap", "я оплатил товар"),  # all-lookalike token decided by the message
        ("тoвap", "товар"),  # nothing decides: Cyrillic
        ("BЫBOД", "вывод"),  # capital-only likenesses
        ("HOMEP KAPTЫ", "homep карты"),  # an all-Latin all-lookalike word stays as written (known gap)
        ("саrd", "card"),  # Cyrillic с, а
        ("Pаyment", "payment"),
        ("your сvv", "your cvv"),
        ("pay via һttps link", "pay via https link"),
        ("ԁelivery", "delivery"),
        ("б0нус", "бонус"),  # 0 between Cyrillic letters
        ("д0ставка", "доставка"),
    ],
)
def test_lookalikes_are_folded(text: str, expected: str) -> None:
    assert norm(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Ok",
        "IKEA",
        "iPhone 15",
        "WB",
        "СДЭК",
        "Boxberry",
        "Ozon",
        "cop",
        "ор",  # Cyrillic, all lookalikes
        "Tele2 и МТС",
        "300р, 3шт, 6мес, 100500",
        "https://www.avito.ru/moskva/telefony/iphone_15_123456789?src=share",
        "t.me/avito_support_bot",
        "звоните +7 (999) 123-45-67",
        "card 4276 1234 5678 9012, exp 12/27",
        "price: 15 000 ₽ — «торг»",
    ],
)
def test_ordinary_words_urls_and_numbers_survive(text: str) -> None:
    assert norm(text) == text.lower()


def test_fold_word_matches_message_folding() -> None:
    assert fold_word("БАЛАНС") == "баланс"
    assert fold_word("кapта") == norm("кapта") == "карта"
    assert fold_word("Ёмкость") == "емкость"
    assert fold_word("c.v.v") == "cvv"


# --- offset map ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle", "expected"),
    [
        ("на б а л а н с е карты", "баланс", "б а л а н с"),
        ("Нужен C.V.V код", "cvv", "C.V.V"),
        ("на Aвитo", "авито", "Aвитo"),
        ("ба\u200bланс карты", "баланс", "ба\u200bланс"),
        ("код ＣＶＶ", "cvv", "ＣＶＶ"),
        ("ﬁnance", "fi", "ﬁ"),
        ("ﬁnance", "f", "ﬁ"),  # half of an expanded char still shows the whole source char
        ("Straße", "ss", "ß"),
        ("е\u0308ж", "е", "е\u0308"),
        ("цена\u00a0100", " ", "\u00a0"),
        ("к-а-р-т-ы\u200b!", "карты", "к-а-р-т-ы"),
        ("Получите б0нус", "бонус", "б0нус"),
    ],
)
def test_evidence_is_cut_from_the_original(text: str, needle: str, expected: str) -> None:
    assert evidence(text, needle) == expected


def test_identity_map_is_not_materialised() -> None:
    n = normalize_text("Добрый день! Товар ещё продаётся?")
    assert n._chars is None and n._joins is None
    assert n.span_to_original(3, 7) == (3, 7)


def test_span_edges() -> None:
    n = normalize_text("\u200bб а л\u200b")
    assert n.text == "бал"
    assert n.span_to_original(0, 0) == (1, 1)
    assert n.span_to_original(3, 3) == (len(n.original), len(n.original))
    assert n.original_slice(0, 3) == "б а л"
    for bad in [(-1, 1), (2, 1), (0, 4)]:
        with pytest.raises(ValueError):
            n.span_to_original(*bad)


def test_normtext_is_a_frozen_value() -> None:
    n = normalize_text("Ёж")
    assert n == NormText("Ёж", "еж")
    with pytest.raises(dataclasses.FrozenInstanceError):
        n.text = "x"  # type: ignore[misc]


def test_big_inputs() -> None:
    for text in ["a" * 1_000_000, "ﬁ" * 100_000, "\u200b" * 100_000, "б " * 100_000, "е\u0308" * 100_000]:
        n = normalize_text(text)
        assert n.original_slice(0, len(n.text)) in (text, text.strip(), "")


# --- the fast path is a shortcut, not a different function ---------------------------------------


def test_safe_characters_fold_like_the_full_pipeline() -> None:
    for c in nz._SAFE_CHARS:
        assert unicodedata.normalize("NFKC", c) == c and c.casefold() == c.lower(), repr(c)
        assert unicodedata.category(c)[0] != "M" and c not in DROPPED, repr(c)


SAFE_TEXT = st.text(st.sampled_from(nz._SAFE_CHARS), max_size=80)


@given(SAFE_TEXT)
def test_fast_path_equals_slow_path(text: str) -> None:
    folded, _ = nz._fold_chars(text + "\u200b")
    assert folded == text.lower().replace("ё", "е")
    assert normalize_text(text).text == normalize_text(text + "\u200b").text


@given(st.text(max_size=80))
def test_script_classes_shortcut_agrees(text: str) -> None:
    folded = normalize_text(text).text
    assert nz._script_classes(folded) == folded.translate(nz._CLASSES)


# --- properties ----------------------------------------------------------------------------------

INTERESTING = (
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАВЕКМНОРСТХЁЇІ"
    "abcdehikmoptxyABCEHKMOPTXYfgjlnqrsuvwz"
    "0123456789 .-_*·|/@:,\n\u00a0"
    "\u200b\u200d\u202e\u2066\ufeff\u00ad\x00\x7f"
    "\u0301\u0308\u0306\u030b\u0345\u20dd"
    "ＡＣａｃ１ﬁß İ№…һԁӏүѕјë"
)
TEXTS = st.one_of(
    st.text(st.sampled_from(INTERESTING), max_size=60),
    st.text(st.characters(exclude_categories=()), max_size=40),  # includes lone surrogates
    st.lists(st.sampled_from(["б а л а н с", "Aвитo", "ＣＶＶ", "к\u200bарта", " ", "e\u0301", "0"]))
    .map("".join),
)


@given(TEXTS)
@example("бy\u030b")  # a folded letter before a mark must not start composing on the next pass
@example("İ")
@example("a\u0345")
@example("Ё\u0306")  # ё -> е must happen before composing: е + breve is ӗ
@example("dddqббфѕ:Adzфф_dбф")  # folding ѕ -> s must not tip the message towards Latin
@settings(max_examples=400)
def test_idempotent(text: str) -> None:
    once = normalize_text(text).text
    assert normalize_text(once).text == once


def _could_produce(source: str, char: str) -> bool:
    """Whether folding ``source`` (a slice of the original) can yield ``char``."""
    source = "".join(c for c in source if c not in DROPPED)
    forms = {source, *source}
    for form in list(forms):
        x = unicodedata.normalize("NFKC", form)
        for _ in range(4):
            forms |= {x, *x}
            x = unicodedata.normalize("NFKC", x.casefold().replace("ё", "е"))
    chars = {c for f in forms for c in f}
    chars |= {"е" if c == "ё" else "о" if c == "0" else c for c in chars}
    chars |= {LATIN_TO_CYRILLIC.get(c, c) for c in chars} | {CYRILLIC_TO_LATIN.get(c, c) for c in chars}
    chars |= {" " for c in chars if unicodedata.category(c) == "Cc"}
    return char in chars


@given(TEXTS)
@example("A\u00ad\u0301")  # a dropped char between a letter and its mark
@example("qЁ")
@settings(max_examples=300)
def test_every_output_char_maps_to_its_source(text: str) -> None:
    n = normalize_text(text)
    prev = (0, 0)
    for i, char in enumerate(n.text):
        lo, hi = n.span_to_original(i, i + 1)
        assert 0 <= lo < hi <= len(text)
        assert lo >= prev[0] and hi >= prev[1]  # monotonic
        assert _could_produce(text[lo:hi], char), (i, char, text[lo:hi])
        prev = (lo, hi)
    for i in range(len(n.text) + 1):
        for j in range(i, min(len(n.text), i + 5) + 1):
            lo, hi = n.span_to_original(i, j)
            if i < j:
                assert (lo, hi) == (n.span_to_original(i, i + 1)[0], n.span_to_original(j - 1, j)[1])
            else:
                assert lo == hi


@given(st.text(max_size=200))
def test_never_raises_and_keeps_lines(text: str) -> None:
    n = normalize_text(text)
    assert n.original == text
    assert n.text.count("\n") == text.count("\n")
