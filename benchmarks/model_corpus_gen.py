"""Regenerate ``tests/data/chat_corpus/{scam,legit}_more.tsv``: hand-written bases, programmatic variation.

The project has no real marketplace-chat scam corpus (see ../shared/data/README.md), so these
messages are written by us: each scenario has several hand-written sentence pools (openers, the
scam move, the push, closers) in Russian and English, combined at random with items, prices, names and
fake or official links, and some are obfuscated the way scammers do (Latin look-alikes, spaced
letters). Legitimate messages use the same marketplace vocabulary (payment, card, delivery, links to
the official site) so that the model has to learn the *script*, not the topic. Deterministic (seeded);
texts already in ``scam.tsv``, ``legit.tsv`` or ``holdout.tsv`` are skipped.

Run: ``.venv/bin/python benchmarks/model_corpus_gen.py``.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "chat_corpus"
SEED = 20261123

ITEMS_RU = ["велосипед", "диван", "iPhone 13", "коляску", "PS5", "куртку", "ноутбук", "шкаф", "холодильник",
            "кроссовки", "телевизор", "самокат", "гитару", "стиральную машину", "AirPods", "микроволновку",
            "детское кресло", "палатку", "дрель", "пылесос", "платье", "часы", "монитор", "стол", "книги"]
ITEMS_EN = ["bike", "sofa", "iPhone 13", "stroller", "PS5", "jacket", "laptop", "wardrobe", "fridge", "sneakers",
            "TV", "scooter", "guitar", "washing machine", "AirPods", "microwave", "car seat", "tent", "drill",
            "vacuum cleaner", "dress", "watch", "monitor", "desk", "books"]
NAMES = ["Алексей", "Марина", "Дмитрий", "Ольга", "Игорь", "Светлана", "Никита", "Анна", "Сергей", "Юлия"]
NAMES_EN = ["Alex", "Maria", "John", "Kate", "Mike", "Anna", "Tom", "Olga", "Chris", "Lena"]
BRANDS = ["Авито", "Юла", "Avito", "OZON", "СДЭК", "Почта России", "Boxberry"]
BRANDS_EN = ["Avito", "OLX", "Vinted", "eBay", "DHL", "InPost", "Allegro"]
FAKE = ["avito-dostavka.online", "avito-safe.top", "youla-pay.site", "sdek-express.info", "avito.pay-deal.ru",
        "bezopasnaya-sdelka.xyz", "olx-pl.delivery-24.top", "vinted-payout.com", "pochta-rf.shop",
        "avito-oplata.icu", "dostavka-avito.club", "secure-avito.net", "cdek-polucheniye.ru", "ozon-vozvrat.site",
        "receive-payment.online", "avlto.ru", "av1to-deal.com", "youla.ru-order.top", "bit.ly/3xPay",
        "clck.ru/38aVt", "t.me/avito_support_bot", "safe-deal-24.store", "delivery-olx.pl-order.net"]
OFFICIAL = ["https://www.avito.ru/moskva/velosipedy/stels_123456", "https://avito.ru/items/4471", "https://youla.ru/p/123",
            "https://www.ozon.ru/product/998877", "https://www.cdek.ru/ru/tracking", "https://www.pochta.ru/tracking",
            "https://www.olx.pl/d/oferta/rower-CID767.html", "https://www.vinted.com/items/123"]


def price(rng: random.Random) -> str:
    v = rng.choice([350, 900, 1200, 1500, 2500, 3000, 4200, 5000, 7500, 12000, 15000, 23000, 45000])
    return rng.choice([f"{v} руб", f"{v}₽", f"{v} р", f"{v:,}".replace(",", " ") + " рублей"])


def link(rng: random.Random) -> str:
    d = rng.choice(FAKE)
    path = rng.choice(["", "/pay", f"/r/{rng.randint(100, 99999)}", f"/order/{rng.randint(1000, 999999)}", "/receive",
                       f"/deal?id={rng.randint(10000, 99999)}"])
    return rng.choice(["https://", "http://", "", "https://"]) + d + path


# --------------------------------------------------------------------------- scam, Russian

SCAM_RU = {
    "receive_money": (
        ["Здравствуйте!", "Добрый день.", "Привет", "Здравствуйте, {name}.", "Добрый вечер!", ""],
        ["Я оплатил {item} через {brand} Доставку.", "Оплата за {item} уже прошла, {price}.",
         "Деньги за ваш {item} зарезервированы на сделке.", "Я перевёл {price} за {item} через безопасную сделку.",
         "Покупатель оплатил ваш заказ.", "Оплатил, всё через сайт, как положено."],
        ["Получите деньги по ссылке {link}", "Для получения средств перейдите по ссылке: {link}",
         "Чтобы забрать оплату, заполните форму {link}", "Вам нужно подтвердить получение платежа тут {link}",
         "Средства можно вывести на карту здесь {link}", "Зачисление средств по ссылке {link}, введите карту",
         "Примите перевод на странице {link}", "Заберите деньги: {link}"],
        ["", "Спасибо!", "Только быстрее, ссылка действует 30 минут.", "Курьер приедет завтра.", "Жду.",
         "Если что-то не получится, напишите в поддержку.", ")"],
    ),
    "card_balance": (
        ["Здравствуйте.", "Подскажите,", "Добрый день!", ""],
        ["Для перевода нужен баланс карты.", "Система требует, чтобы на карте было не меньше {price}.",
         "Перевод не проходит, банк пишет что на карте нет {price}.", "Чтобы пришли деньги за {item}, нужен остаток на карте."],
        ["Напишите, сколько у вас на карте?", "Укажите баланс вашей карты, пожалуйста.", "Скиньте скрин баланса карты.",
         "Пополните карту до {price}, тогда оплата пройдёт.", "Сообщите остаток по карте, это для подтверждения."],
        ["", "Это стандартная проверка.", "Так работает безопасная сделка.", "Жду ответа."],
    ),
    "code_3ds": (
        ["Сейчас придёт смс.", "Вам пришёл код.", "Я отправил запрос.", "Здравствуйте, "],
        ["Продиктуйте код из смс, это для подтверждения получения денег.", "Назовите код из сообщения банка.",
         "Пришлите мне код, который пришёл на телефон, без него оплата не зачислится.",
         "Скажите 6 цифр из смс, чтобы сделка завершилась.", "Отправьте код подтверждения, который прислал банк."],
        ["", "Быстрее, код действует 5 минут.", "Это безопасно, деньги придут вам.", "Спасибо."],
        [""],
    ),
    "card_data": (
        ["Чтобы я перевёл деньги,", "Для оплаты {item}", "Хорошо, беру {item}.", "Оплачу сейчас."],
        ["скиньте номер карты, срок действия и CVV.", "пришлите фото карты с двух сторон.",
         "мне нужны полные данные карты: номер, дату и три цифры сзади.", "напишите номер карты и код на обороте.",
         "укажите данные карты в форме {link}"],
        ["", "Иначе банк не пропустит перевод.", "Это нужно для безопасной сделки.", "Жду, чтобы оплатить."],
        [""],
    ),
    "courier": (
        ["Здравствуйте!", "Добрый день,", ""],
        ["Я заказал курьерскую доставку {brand} для {item}.", "Курьер {brand} заберёт {item} сегодня.",
         "Оформил доставку через {brand}, всё оплачено."],
        ["Оплатите страховку {price} по ссылке {link}, потом вернётся.", "Подтвердите отправку на сайте {link}.",
         "Заполните данные для получения оплаты тут {link}.", "Для отправки нужно оплатить доставку {price}: {link}"],
        ["", "Курьер ждёт.", "Это требование службы доставки."],
    ),
    "off_platform": (
        ["Здравствуйте,", "Давайте так:", "Привет!", ""],
        ["давайте продолжим в WhatsApp +7 9{num}", "напишите мне в телеграм @{tg}, тут неудобно",
         "перейдём в вотсап, там скину ссылку на оплату", "пишите в телегу @{tg}, там быстрее оформим сделку"],
        ["", "Там скину ссылку на оплату.", "Авито блокирует сообщения.", "Там оформим доставку."],
        [""],
    ),
    "support_bot": (
        ["Служба поддержки {brand}.", "Уведомление {brand}:", "Администрация {brand}."],
        ["Ваш аккаунт будет заблокирован.", "По вашему объявлению поступила оплата.", "Обнаружена подозрительная активность.",
         "Покупатель оплатил товар, требуется подтверждение."],
        ["Подтвердите данные в боте {link}", "Пройдите верификацию: {link}", "Для разблокировки перейдите {link}",
         "Чтобы получить выплату, напишите боту @{tg}"],
        ["", "У вас 24 часа.", "Иначе средства вернутся покупателю."],
    ),
    "refund": (
        ["Здравствуйте,", "Добрый день,", ""],
        ["произошла ошибка при оплате, деньги списались дважды.", "сделка отменена, вам положен возврат {price}.",
         "оплата не прошла, нужно оформить возврат."],
        ["Оформите возврат по ссылке {link}", "Заполните форму возврата: {link}, укажите карту.",
         "Верните средства через страницу {link}"],
        ["", "Спасибо за понимание.", "Иначе деньги сгорят."],
    ),
    "safe_deal": (
        ["Давайте через безопасную сделку.", "Я за безопасную сделку.", "Оформил безопасную сделку."],
        ["Я уже оплатил, вам осталось подтвердить.", "Деньги заморожены на счёте {brand} до подтверждения.",
         "Ссылку на сделку отправил: {link}"],
        ["Подтвердите сделку по ссылке и введите карту для зачисления.", "Перейдите и нажмите «получить средства».",
         "Там нужно ввести данные карты, куда придут деньги."],
        [""],
    ),
    "debit": (
        ["Чтобы получить деньги,", "Для возврата гарантии", ""],
        ["нужно оплатить комиссию {price}.", "вам надо внести залог {price}, он вернётся.",
         "система требует активировать карту платежом {price}."],
        ["Оплата по ссылке {link}", "Переведите на карту 2202 20{num}", "Оплатите на сайте {link}"],
        ["", "Это вернётся вместе с оплатой за товар."],
    ),
}

SCAM_EN = {
    "receive_money": (
        ["Hi!", "Hello {name},", "Good evening.", ""],
        ["I paid for your {item} via {brand} delivery.", "The payment for the {item} is done.",
         "Your money is reserved in the safe deal.", "I've sent the payment for the {item}."],
        ["Receive your payment here: {link}", "To get the money, fill in the form {link}",
         "Claim your funds via the link {link}", "Confirm receipt of payment on {link}"],
        ["", "Thanks!", "The link expires in 30 minutes.", "The courier comes tomorrow."],
    ),
    "card_balance": (
        ["Hi,", "Quick question:", ""],
        ["the transfer needs your card balance to be at least {price}.", "the bank says the card needs funds for the payment."],
        ["What is the balance on your card?", "Tell me your card balance please.", "Send a screenshot of your balance."],
        ["", "It's a standard check."],
    ),
    "code_3ds": (
        ["You will get an SMS now.", "I sent the request.", ""],
        ["Tell me the code from the SMS so the payment goes through.", "Send me the 6-digit code your bank sent.",
         "Read me the confirmation code, without it the money won't arrive."],
        ["", "Hurry, it expires in 5 minutes."],
        [""],
    ),
    "card_data": (
        ["To pay for the {item},", "OK I'll take it.", ""],
        ["send me your card number, expiry date and CVV.", "I need your full card details, including the 3 digits on the back.",
         "enter your card details at {link}"],
        ["", "Otherwise the bank blocks the transfer."],
        [""],
    ),
    "courier": (
        ["Hi!", ""],
        ["I booked {brand} courier pickup for the {item}.", "The {brand} courier will collect it today."],
        ["Please pay the insurance fee {price} at {link}, it is refunded.", "Confirm the shipment at {link}."],
        ["", "The courier is waiting."],
    ),
    "support_bot": (
        ["{brand} Support:", "{brand} security team."],
        ["Your account will be suspended.", "A buyer has paid for your listing, confirmation required."],
        ["Verify your details at {link}", "Message our bot @{tg} to receive the payout."],
        ["", "You have 24 hours."],
    ),
    "refund": (
        ["Hello,", ""],
        ["the payment was charged twice.", "your order was cancelled, a refund of {price} is due."],
        ["Request your refund via {link} and enter your card.", "Fill in the refund form: {link}"],
        [""],
    ),
    "off_platform": (
        ["Hi,", ""],
        ["let's continue on WhatsApp +44 7{num}", "text me on Telegram @{tg}, this chat is buggy"],
        ["I'll send the payment link there.", ""],
        [""],
    ),
}

# --------------------------------------------------------------------------- legit

LEGIT_RU = {
    "availability": ["{greet} {item} ещё продаётся?", "{greet} Актуально? Интересует {item}.", "{item} в наличии?",
                     "{greet} Подскажите, {item} ещё доступен? Могу сегодня подъехать.",
                     "А {item} не продали ещё?", "{greet} Можно ещё фото {item}, пожалуйста?"],
    "haggling": ["{greet} Отдадите за {price}?", "Торг уместен? Готов взять за {price}.", "Последняя цена какая?",
                 "Могу предложить {price}, если сегодня заберу.", "Скинете немного? {price} было бы отлично.",
                 "{price} — это окончательно?"],
    "meeting": ["Давайте встретимся у метро {metro} в {time}.", "Могу подъехать к {time}, адрес скиньте.",
                "Буду в {time} у подъезда, наберите, когда выйдете.", "Где можно посмотреть {item}?",
                "Удобно завтра после {time}?", "Я на месте, серая машина у входа."],
    "payment": ["Оплачу наличными при встрече.", "Могу перевести на карту после осмотра.", "Переведу по номеру телефона, когда заберу.",
                "Оплата картой при получении, нормально?", "Скиньте номер телефона для перевода через СБП, переведу при встрече.",
                "Деньги отправил через СБП, проверьте, пожалуйста.", "Оплатил через Авито Доставку в приложении, ждите уведомление.",
                "Я перевёл {price}, гляньте, пришло?", "Только наличные, карту не принимаю, извините.",
                "Никаких кодов и данных карты не нужно, оплачу при встрече.", "Перевод пришёл, спасибо! Отправлю сегодня."],
    "delivery": ["Можно отправить Авито Доставкой?", "Отправьте, пожалуйста, СДЭКом до {city}.", "Трек-номер пришлите, когда отправите.",
                 "Посылку получил, всё отлично, спасибо!", "Оформил заказ с доставкой в приложении.",
                 "Доставка Почтой России возможна? Оплату сделаю при получении.", "Сдал посылку в пункт Boxberry, трек в приложении.",
                 "Оформляю доставку через {brand}, подтвердите заказ в приложении, пожалуйста.",
                 "Когда придёт, проверю и подтвержу получение в приложении."],
    "link": ["Вот ссылка на объявление: {official}", "Посмотрите похожий: {official}", "Отслеживание тут: {official}",
             "Я про это объявление {official}", "Скиньте ссылку на объявление, пожалуйста.", "Ссылка на товар {official}"],
    "card_safety": ["Не сообщайте никому код из смс, даже мне.", "Мне не нужны данные вашей карты, всё через приложение.",
                    "Осторожно, тут много мошенников с ссылками на оплату.", "Я не буду переходить по ссылкам, давайте через Авито.",
                    "Никому не говорите CVV, это развод.", "Мне писали какие-то мошенники со ссылкой, вы не такой?"],
    "misc": ["Спасибо, {name}!", "Хорошо, договорились.", "Извините, уже не актуально.", "Понял, спасибо за ответ.",
             "А размер какой?", "Какой год выпуска?", "Есть чек и коробка?", "Гарантия ещё действует?",
             "Отличное состояние, рекомендую продавца.", "Всё подошло, спасибо большое!", "Пришлите видео, как работает.",
             "Почему так дёшево?", "Хорошего вечера!", "Напишу позже, сейчас на работе.", "Ок", "Да, актуально.",
             "Нет, уже продано.", "Могу только в выходные.", "Сколько лет пользовались?", "Царапины есть?"],
}
LEGIT_EN = {
    "availability": ["{greet} is the {item} still available?", "Is this {item} still for sale?", "{greet} can I see more photos of the {item}?"],
    "haggling": ["Would you take {price}?", "Any room on the price? I can do {price}.", "Is {price} your final price?"],
    "meeting": ["Can we meet at the station at {time}?", "I can pick it up around {time}.", "Where can I see the {item}?"],
    "payment": ["I'll pay cash on pickup.", "I can pay by bank transfer after I see it.", "Sent the money, please check.",
                "Payment through the app is fine with me.", "Never share your SMS codes, I'll pay in person."],
    "delivery": ["Can you ship it via {brand}?", "Please send the tracking number.", "Got the parcel, all good, thanks!"],
    "link": ["Here's the listing: {official}", "Is it this one? {official}", "Tracking: {official}"],
    "misc": ["Thanks {name}!", "Deal.", "Sorry, not needed anymore.", "What size is it?", "Does it come with a receipt?",
             "Great seller, thanks!", "OK", "Any scratches?", "How old is it?"],
}
METRO = ["Курская", "Чистые пруды", "Парк культуры", "Академическая", "Невский проспект", "Павелецкая"]
CITY = ["Казани", "Самары", "Новосибирска", "Питера", "Екатеринбурга", "Твери"]
LOOK = str.maketrans({"а": "a", "о": "o", "е": "e", "р": "p", "с": "c", "х": "x", "у": "y"})


def obfuscate(text: str, rng: random.Random) -> str:
    """Latin look-alikes in some Cyrillic letters, or one key word spelled with spaces."""
    if rng.random() < 0.6:
        return "".join(ch.translate(LOOK) if rng.random() < 0.35 else ch for ch in text)
    words = text.split(" ")
    i = max(range(len(words)), key=lambda k: 0 if ("." in words[k] or "/" in words[k]) else len(words[k]))
    words[i] = " ".join(words[i])
    return " ".join(words)


def fill(t: str, rng: random.Random, en: bool) -> str:
    return t.format(
        name=rng.choice(NAMES_EN if en else NAMES), item=rng.choice(ITEMS_EN if en else ITEMS_RU),
        brand=rng.choice(BRANDS_EN if en else BRANDS), price=price(rng) if not en else f"{rng.choice([20, 45, 80, 150, 300])} {rng.choice(['EUR', 'USD', 'GBP', 'zł'])}",
        link=link(rng), tg=rng.choice(["avito_help", "dostavka24", "deal_support", "olx_pay", "safe_sdelka"]),
        num=rng.randint(10_000_000, 99_999_999), greet=rng.choice(["Здравствуйте!", "Добрый день.", "Привет,", ""] if not en else ["Hi,", "Hello!", ""]),
        metro=rng.choice(METRO), city=rng.choice(CITY), time=rng.choice(["18:00", "19:30", "10 утра", "обеда", "семи"] if not en else ["6pm", "noon", "7:30"]),
        official=rng.choice(OFFICIAL),
    ).strip()


def scam_messages(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    out = []
    for _ in range(n * 3):
        en = rng.random() < 0.3
        pools = SCAM_EN if en else SCAM_RU
        scen = rng.choice(sorted(pools))
        parts = [fill(rng.choice(p), rng, en) for p in pools[scen]]
        text = " ".join(p for p in parts if p)
        if not en and rng.random() < 0.15:
            text = obfuscate(text, rng)
        if rng.random() < 0.2:
            text = text.lower()
        out.append((scen, "en" if en else "ru", text))
    return out


def legit_messages(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    out = []
    for _ in range(n * 3):
        en = rng.random() < 0.25
        pools = LEGIT_EN if en else LEGIT_RU
        scen = rng.choice(sorted(pools))
        k = rng.choice([1, 1, 1, 2, 2, 3])
        text = " ".join(fill(rng.choice(pools[rng.choice(sorted(pools)) if i else scen]), rng, en) for i in range(k))
        if rng.random() < 0.2:
            text = text.lower()
        out.append((scen, "en" if en else "ru", " ".join(text.split())))
    return out


def write(path: Path, label: str, rows: list[tuple[str, str, str]], n: int, seen: set[str]) -> int:
    kept = []
    for scen, lang, text in rows:
        if text and text not in seen:
            seen.add(text)
            kept.append((label, scen, lang, text))
        if len(kept) >= n:
            break
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["label", "scenario", "lang", "text"])
        w.writerows(kept)
    return len(kept)


def main() -> None:
    seen: set[str] = set()
    for name in ("scam.tsv", "legit.tsv", "holdout.tsv"):
        with (CORPUS / name).open(encoding="utf-8", newline="") as f:
            seen.update(r["text"] for r in csv.DictReader(f, delimiter="\t"))
    rng = random.Random(SEED)
    a = write(CORPUS / "scam_more.tsv", "scam", scam_messages(rng, 800), 800, seen)
    b = write(CORPUS / "legit_more.tsv", "legit", legit_messages(rng, 1800), 1800, seen)
    print(f"scam_more.tsv: {a} rows, legit_more.tsv: {b} rows")


if __name__ == "__main__":
    main()
