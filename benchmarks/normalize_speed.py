"""Speed of phishguard.normalize.normalize_text, in microseconds per message.

Run: ``.venv/bin/python benchmarks/normalize_speed.py``. Budget: <= 10 us for a clean 100-200 char
Russian message, <= 40 us with obfuscation. Reference machine: 2-core sandbox (AMD EPYC, Python 3.11).
"""

from __future__ import annotations

import platform
import timeit

from phishguard.normalize import normalize_text

CASES = {
    "clean RU": "Здравствуйте! Товар ещё в наличии? Могу забрать завтра после 18:00 у метро, "
    "оплачу наличными при встрече. Если удобно, напишите адрес, пожалуйста.",
    "clean EN": "Hi! Is the bike still available? I can pick it up tomorrow after 6 pm near the station "
    "and pay cash on the spot. Please send me the address if that works.",
    "clean RU + emoji/NBSP": "Добрый день 👋 Товар ещё актуален? Цена 2\u00a0500\u00a0₽, заберу сегодня… "
    "Заказ №1234, доставка СДЭК.",
    "obfuscated RU, typical": "Здравствуйте! Я оплатил ваш товар на Aвитo, получите оплату по ссылке. "
    "На балансе карты должна быть сумма не меньше стоимости товара, C.V.V код не нужен.",
    "obfuscated RU, every trick": "Здрaвствуйте! Я oплaтил вaш тoвap нa Aвитo, пoлучитe oплaту пo ссылкe. Нa "
    "б а л а н с е к-а-р-т-ы дoлжнa быть сумма\u200b нe мeньшe стoимoсти тoвaрa, ＣＶＶ не нужен.",
    "obfuscated EN, every trick": "Hеllo! I paid for your item, plеasе rеcеivе thе pаymеnt viа thе link. Your "
    "саrd must hold the item price, C.V.V code is n o t needed, thank you\u200b.",
}
BIG = {
    "64 KiB clean RU": (CASES["clean RU"] + " ") * (65536 // (len(CASES["clean RU"]) + 1)),
    "64 KiB obfuscated RU": (CASES["obfuscated RU, every trick"] + " ") * 411,
}


def per_call_us(text: str, number: int) -> float:
    """Best of 30 short repeats (robust to a busy shared machine), microseconds per call."""
    return min(timeit.repeat(lambda: normalize_text(text), number=number, repeat=30)) / number * 1e6


def main() -> None:
    print(f"normalize_text on {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()} (reference: 2-core sandbox)")
    for name, text in CASES.items():
        print(f"  {name:28} {len(text):6} chars  {per_call_us(text, 1000):9.2f} us/message")
    for name, text in BIG.items():
        print(f"  {name:28} {len(text):6} chars  {per_call_us(text, 2):9.0f} us/message")


if __name__ == "__main__":
    main()
