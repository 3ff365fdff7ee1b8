"""Messages per second of Scanner.scan_many on a realistic chat mix (a third of messages hold a link).

Usage: python benchmarks/scan_throughput.py [--messages N] [--repeat R] [--unique-links]

Prints figures; asserts nothing. Report the machine with the numbers (these machines are noisy):
the figures in the README come from the 2-core sandbox this project is developed on.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time

from phishguard.ruleset import RuleSet
from phishguard.scanner import Scanner

CHAT = [
    "Здравствуйте, камера ещё продаётся?",
    "Добрый день! Актуально? Могу забрать сегодня после 18:00.",
    "А торг уместен? Готов взять за 15 000.",
    "Отправлю СДЭКом, трек-номер пришлю сюда в чат.",
    "Скиньте, пожалуйста, ещё пару фото сбоку и сзади.",
    "Hi! Is the bike still available? I can pick it up on Saturday.",
    "Можно посмотреть вечером? Я рядом с метро Профсоюзная.",
    "Спасибо, всё получил, товар отличный 👍",
    "Какой размер? На рост 176 подойдёт?",
    "Cześć, czy ogłoszenie aktualne? Mogę odebrać jutro.",
    "Доставка Авито подойдёт? Оплачу сразу после проверки.",
    "Есть чек и коробка? Гарантия ещё действует?",
]
LINKS = [
    "https://www.avito.ru/moskva/telefony/iphone_13_128gb_{n}",
    "Вот похожее объявление: https://youla.ru/moskva/elektronika/{n}",
    "Получите оплату: https://аvito.ru/pay/{n}",
    "Я оплатил, заберите деньги тут https://avito.ru@safe-deal-pay.top/receive/{n}",
    "Оформил доставку: hxxps://youla-dostavka[.]online/order/{n}",
    "Трек: https://www.cdek.ru/ru/tracking?order_id={n}",
    "Ссылка на оплату bit.ly/3x{n}",
    "Paid via safe deal, confirm here: olx-pl.deliverysafe-pay.shop/{n}",
    "Смотрите тут avito.ru/items/{n}",
    "http://185.12.33.4/pay/{n}",
]


def make_messages(n: int, seed: int = 20261123, unique_links: bool = False) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        if rnd.random() < 1 / 3:
            num = rnd.randrange(10**6, 10**7) if unique_links else rnd.randrange(50)
            out.append(rnd.choice(LINKS).format(n=num))
        else:
            out.append(rnd.choice(CHAT))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--unique-links", action="store_true", help="every link distinct (defeats the link cache)")
    ap.add_argument(
        "--core-only",
        action="store_true",
        help="link rules only: extraction, normalization, host checks, lookalikes (no text rules)",
    )
    args = ap.parse_args()

    t0 = time.perf_counter()
    scanner = Scanner()
    load_s = time.perf_counter() - t0
    if args.core_only:
        rs = scanner.ruleset
        core = RuleSet(rules=tuple(r for r in rs.rules if r.scope != "text"), resources=rs.resources, version=rs.version, root=rs.root)
        scanner = Scanner(scanner.settings, ruleset=core)
    msgs = make_messages(args.messages, unique_links=args.unique_links)
    scanner.scan_many(msgs[:500])  # warm-up
    rates, cpu_rates = [], []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        scanner.scan_many(msgs)
        rates.append(len(msgs) / (time.perf_counter() - t))
        cpu_rates.append(len(msgs) / (time.process_time() - c))
    single, single_cpu = [], []
    for m in msgs[:5000]:
        t, c = time.perf_counter(), time.process_time()
        scanner.scan(m)
        single.append((time.perf_counter() - t) * 1e6)
        single_cpu.append((time.process_time() - c) * 1e6)
    single.sort()
    single_cpu.sort()
    models = sorted(r.id for r in scanner.ruleset.rules if r.id.startswith("model."))
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, one core")
    print(f"scanner load: {load_s * 1000:.0f} ms")
    print(f"messages: {len(msgs)} (a third with links; unique links: {args.unique_links}; core only: {args.core_only})")
    print(f"model rules on: {', '.join(models) or 'none'}")
    print(f"scan_many: median {statistics.median(rates):,.0f} msg/s (min {min(rates):,.0f}, max {max(rates):,.0f})")
    print(f"scan_many, CPU time (shared machines): median {statistics.median(cpu_rates):,.0f} msg/s")
    print(f"single scan: p50 {single[len(single) // 2]:.1f} µs, p99 {single[int(len(single) * 0.99)]:.1f} µs")
    print(f"single scan, CPU time: p50 {single_cpu[len(single_cpu) // 2]:.1f} µs, p99 {single_cpu[int(len(single_cpu) * 0.99)]:.1f} µs")


if __name__ == "__main__":
    main()
