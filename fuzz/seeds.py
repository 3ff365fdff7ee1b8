"""Starting inputs of each fuzz target, in the byte form the targets decode (see ``targets.py``).

They only give the fuzzer a head start (a scheme, a defanged dot, an IDN label, a form, a JSON
request); coverage guidance finds the rest. ``fuzz/run.py`` writes them into an empty corpus.
"""

from __future__ import annotations

import json

__all__ = ["SEEDS", "encode_text"]


def encode_text(text: str, number: int = 0) -> bytes:
    """The bytes ``targets.decode_text`` turns back into ``(number, text)``.

    FuzzedDataProvider takes the number from the last byte; for the string, a first byte of 2 means
    UTF-16 code units (any BMP character, lone surrogates included), 0 means UTF-32.
    """
    if any(ord(c) > 0xFFFF for c in text):
        body = b"\x00" + text.encode("utf-32-le")
    else:
        body = b"\x02" + text.encode("utf-16-le", "surrogatepass")
    return body + bytes([number & 0xFF])


_TEXTS = (
    "Оплата: hxxps://avito-pay[.]ru/x, а почта ivan.petrov@mail.ru",
    "переходитеavito-pay.ru/pay?id=1#x спасибо",
    "https://avito.ru@evil.xyz:8080/pay (ссылка)",
    "аvito.ru ＡＶＩＴＯ．ru av\u200bito.ru \u202eur.otiva",
    "http://0x7f.1/ http://[::1]:80/ http://2130706433 http://%31%32%37.0.0.1",
    "olx.pl-oferta.xyz/olx.pl/pay youla.ru-receive.online www.авито.рф",
    "т.е. 1.500.000 руб до 12.05.2024, файл report.pdf и main.py",
    "a (dot) ru, b [.] com, c . ru/x, d\u3002ru, xn--vito-43d.ru",
)
_HOSTS = (
    "аvito.ru", "ＡＶＩＴＯ．ru.", "av\u200bito.ru", "xn--vito-43d.ru", "0x7f.1", "017700000001",
    "%31%32%37.0.0.1", "[::1]", "pay.авито.рф", "a..ru", "foo.1", "avito-pay.vercel.app", "ß.de",
)
_PAGES = (
    ('<title>Авито</title><form action="//x.top/p"><label for=c>Номер карты</label>'
     '<input id=c name=pan><input placeholder="Баланс карты"><button>Получить</button></form>'),
    ("<!-- c --><script>x='<p>'</script><p>Номер&nbsp;карты</p><b>CVV</b><div class='chat-widget'>"
     "Онлайн-консультант</div><a href=/x class=btn>Далее</a><img src=logo.png alt=Avito>"),
    ("<meta property=og:site_name content=OLX><link rel=icon href=/f.ico><h1>Odbierz</h1>"
     "<form><label>Kod SMS <input name=sms maxlength=6 data-mask=999999></label><select><option>1"),
)
_REQUESTS = (
    (0, {"text": "Получите оплату: https://аvito.ru/pay/123", "id": 7, "lang": "ru", "context": {"chat": "c1"}}),
    (0, {"text": "hi", "fetch": True, "unknown": [1, 2.5, None]}),
    (1, {"text": "\ud800 lone", "id": "m-1", "lang": "en"}),
    (2, {"messages": [{"text": "a"}, {"text": 5}, "x"], "lang": "ru", "fetch": False}),
    (2, {"messages": []}),
)


def _request(model: int, body: object) -> bytes:
    return bytes([model]) + json.dumps(body, ensure_ascii=model != 0).encode("utf-8", "surrogatepass")


SEEDS: dict[str, tuple[bytes, ...]] = {
    "extract": tuple(encode_text(t, 100) for t in _TEXTS),
    "hosts": tuple(encode_text(h) for h in _HOSTS),
    "page": tuple(encode_text(p, i) for i, p in enumerate(_PAGES)),
    "request": tuple(_request(m, b) for m, b in _REQUESTS) + (b"\x00", b"\x00[]", b'\x00{"text":"a"', b"\x01 \n"),
}
