"""Every string of the ``/moderation`` pages in English and Russian, and how a page picks its language.

The language is ``?lang=ru|en`` (then remembered in the ``pg_lang`` cookie), else that cookie, else
the best supported language of ``Accept-Language``, else English.

>>> pick_language(query="ru", cookie=None, accept=None)
'ru'
>>> pick_language(query=None, cookie=None, accept="de-DE,ru;q=0.8,en;q=0.5")
'ru'
>>> pick_language(query="xx", cookie="en", accept="ru")
'en'
>>> translate("ru", "queue")
'Очередь'
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "STRINGS", "pick_language", "translate"]

LANGUAGES: tuple[str, ...] = ("en", "ru")
DEFAULT_LANGUAGE = "en"

#: key -> {"en": ..., "ru": ...}; a test checks that every key has both languages.
STRINGS: dict[str, dict[str, str]] = {
    # frame
    "title": {"en": "phishguard moderation", "ru": "phishguard — модерация"},
    "queue": {"en": "Queue", "ru": "Очередь"},
    "history": {"en": "History", "ru": "История"},
    "logout": {"en": "Log out", "ru": "Выйти"},
    "signed_in_as": {"en": "Signed in as", "ru": "Вы вошли как"},
    "language": {"en": "Language", "ru": "Язык"},
    "shortcuts": {
        "en": "Keys: c confirm · d dismiss · j/k next/previous · / filter",
        "ru": "Клавиши: c подтвердить · d отклонить · j/k следующий/предыдущий · / фильтр",
    },
    # login
    "login": {"en": "Log in", "ru": "Вход"},
    "user_name": {"en": "User name", "ru": "Имя пользователя"},
    "password": {"en": "Password", "ru": "Пароль"},
    "login_failed": {"en": "Wrong user name or password.", "ru": "Неверное имя пользователя или пароль."},
    "logged_out": {"en": "You have logged out.", "ru": "Вы вышли."},
    # queue and filters
    "filters": {"en": "Filters", "ru": "Фильтры"},
    "status": {"en": "Status", "ru": "Статус"},
    "category": {"en": "Category", "ru": "Категория"},
    "brand": {"en": "Brand", "ru": "Бренд"},
    "domain": {"en": "Domain", "ru": "Домен"},
    "tenant": {"en": "Tenant", "ru": "Клиент"},
    "since": {"en": "From (UTC)", "ru": "С (UTC)"},
    "until": {"en": "To (UTC)", "ru": "По (UTC)"},
    "min_score": {"en": "Min score", "ru": "Мин. оценка"},
    "campaign": {"en": "Campaign", "ru": "Кампания"},
    "apply": {"en": "Apply", "ru": "Применить"},
    "reset": {"en": "Reset", "ru": "Сбросить"},
    "any": {"en": "any", "ru": "любой"},
    "invalid_filter": {
        "en": "Ignored an invalid filter value:",
        "ru": "Пропущено неверное значение фильтра:",
    },
    "no_flags": {"en": "No flags match these filters.", "ru": "Нет флагов под эти фильтры."},
    "older": {"en": "Older →", "ru": "Старше →"},
    "newest": {"en": "← Newest", "ru": "← Самые новые"},
    "campaigns": {"en": "Campaigns (open flags)", "ru": "Кампании (открытые флаги)"},
    "no_campaigns": {"en": "No campaigns among open flags.", "ru": "Среди открытых флагов кампаний нет."},
    "flags": {"en": "Flags", "ru": "Флаги"},
    "tenants": {"en": "Tenants", "ru": "Клиентов"},
    "last_seen": {"en": "Last seen", "ru": "Последний"},
    "max_score": {"en": "Max score", "ru": "Макс. оценка"},
    "show": {"en": "Show", "ru": "Показать"},
    "confirm_all": {"en": "Confirm all", "ru": "Подтвердить все"},
    "dismiss_all": {"en": "Dismiss all", "ru": "Отклонить все"},
    "kind_domain": {"en": "domain", "ru": "домен"},
    "kind_path": {"en": "URL path", "ru": "путь URL"},
    "kind_kit": {"en": "kit", "ru": "фишинг-кит"},
    # flag columns and detail
    "flag": {"en": "Flag", "ru": "Флаг"},
    "time": {"en": "Time", "ru": "Время"},
    "verdict": {"en": "Verdict", "ru": "Вердикт"},
    "score": {"en": "Score", "ru": "Оценка"},
    "categories": {"en": "Categories", "ru": "Категории"},
    "domains": {"en": "Domains", "ru": "Домены"},
    "message": {"en": "Message", "ru": "Сообщение"},
    "message_id": {"en": "Message id", "ru": "Id сообщения"},
    "no_text": {"en": "(text not stored)", "ru": "(текст не сохранён)"},
    "context": {"en": "Context", "ru": "Контекст"},
    "links": {"en": "Links (defanged)", "ru": "Ссылки (обезврежены)"},
    "host": {"en": "Host", "ru": "Хост"},
    "registered_domain": {"en": "Registered domain", "ru": "Регистрируемый домен"},
    "official": {"en": "Official", "ru": "Официальный"},
    "findings": {"en": "Findings", "ru": "Находки"},
    "reasons": {"en": "Reasons", "ru": "Причины"},
    "rule": {"en": "Rule", "ru": "Правило"},
    "severity": {"en": "Severity", "ru": "Важность"},
    "evidence": {"en": "Evidence", "ru": "Что найдено"},
    "not_in_text": {"en": "(in a derived form, not in the text)", "ru": "(в производной форме, не в тексте)"},
    "rules_version": {"en": "Rules version", "ru": "Версия правил"},
    "models": {"en": "Models", "ru": "Модели"},
    "decided": {"en": "Decided", "ru": "Решение"},
    "decision": {"en": "Decision", "ru": "Решение"},
    "note": {"en": "Note (optional)", "ru": "Комментарий (необязательно)"},
    "note_short": {"en": "Note", "ru": "Комментарий"},
    "confirm": {"en": "Confirm fraud", "ru": "Подтвердить мошенничество"},
    "dismiss": {"en": "Dismiss (false positive)", "ru": "Отклонить (ложное срабатывание)"},
    "reopen": {"en": "Reopen", "ru": "Вернуть в очередь"},
    "viewer_note": {
        "en": "Your role is viewer: you can look but not decide.",
        "ru": "Ваша роль — наблюдатель: смотреть можно, решать нельзя.",
    },
    "flag_history": {"en": "Decisions on this flag", "ru": "Решения по этому флагу"},
    "no_decisions": {"en": "No decisions yet.", "ru": "Решений пока нет."},
    "next_flag": {"en": "Next (j)", "ru": "Следующий (j)"},
    "prev_flag": {"en": "Previous (k)", "ru": "Предыдущий (k)"},
    "back_to_queue": {"en": "Back to the queue", "ru": "К очереди"},
    "yes": {"en": "yes", "ru": "да"},
    "no": {"en": "no", "ru": "нет"},
    "unknown": {"en": "unknown", "ru": "неизвестно"},
    # history
    "all_decisions": {"en": "Decision history", "ru": "История решений"},
    "moderator": {"en": "Moderator", "ru": "Модератор"},
    "action": {"en": "Action", "ru": "Действие"},
    "older_decisions": {"en": "Older decisions →", "ru": "Более ранние →"},
    # notices after a decision
    "done_confirm": {"en": "Confirmed as fraud:", "ru": "Подтверждено мошенничество:"},
    "done_dismiss": {"en": "Dismissed as a false positive:", "ru": "Отклонено как ложное срабатывание:"},
    "done_reopen": {"en": "Reopened:", "ru": "Возвращено в очередь:"},
    "done_flags": {"en": "flag(s)", "ru": "флаг(ов)"},
    # errors
    "error": {"en": "Error", "ru": "Ошибка"},
    "err_403": {
        "en": "Forbidden: the form was stale or you may not do this. Reload the page and try again.",
        "ru": "Запрещено: форма устарела или у вас нет прав. Обновите страницу и попробуйте снова.",
    },
    "err_404": {"en": "Not found.", "ru": "Не найдено."},
    "err_400": {"en": "Bad request.", "ru": "Неверный запрос."},
    "err_500": {
        "en": "Something went wrong; it has been logged.",
        "ru": "Что-то пошло не так; это записано в журнал.",
    },
    "err_503": {
        "en": "The moderation store is unavailable; try again shortly.",
        "ru": "Хранилище модерации недоступно; попробуйте чуть позже.",
    },
    # values
    "status_open": {"en": "open", "ru": "открыт"},
    "status_confirmed": {"en": "confirmed", "ru": "подтверждён"},
    "status_dismissed": {"en": "dismissed", "ru": "отклонён"},
    "status_all": {"en": "all", "ru": "все"},
    "action_confirm": {"en": "confirm", "ru": "подтверждение"},
    "action_dismiss": {"en": "dismiss", "ru": "отклонение"},
    "action_reopen": {"en": "reopen", "ru": "возврат"},
    "verdict_fraud": {"en": "fraud", "ru": "мошенничество"},
    "verdict_suspicious": {"en": "suspicious", "ru": "подозрительно"},
    "verdict_safe": {"en": "safe", "ru": "безопасно"},
    "role_viewer": {"en": "viewer", "ru": "наблюдатель"},
    "role_moderator": {"en": "moderator", "ru": "модератор"},
    "role_admin": {"en": "admin", "ru": "администратор"},
    "cat_lookalike_domain": {"en": "lookalike domain", "ru": "поддельный домен"},
    "cat_card_request": {"en": "card request", "ru": "запрос данных карты"},
    "cat_payment_page": {"en": "payment page", "ru": "платёжная страница"},
    "cat_scam_script": {"en": "scam script", "ru": "сценарий обмана"},
    "cat_off_platform": {"en": "off platform", "ru": "уход с площадки"},
    "cat_url_structure": {"en": "URL structure", "ru": "структура URL"},
    "cat_text_model": {"en": "text model", "ru": "модель текста"},
    "cat_spam": {"en": "spam", "ru": "спам"},
    "cat_reputation": {"en": "reputation", "ru": "репутация"},
    "cat_degraded": {"en": "degraded", "ru": "неполная проверка"},
    "sev_info": {"en": "info", "ru": "инфо"},
    "sev_low": {"en": "low", "ru": "слабый"},
    "sev_medium": {"en": "medium", "ru": "средний"},
    "sev_high": {"en": "high", "ru": "сильный"},
    "sev_critical": {"en": "critical", "ru": "критичный"},
}


def translate(lang: str, key: str) -> str:
    """The string ``key`` in ``lang`` (English, then the key itself, when missing).

    >>> translate("ru", "no-such-key")
    'no-such-key'
    """
    entry = STRINGS.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry[DEFAULT_LANGUAGE]


def _from_accept_language(header: str) -> str | None:
    """The supported language with the highest ``q`` in an ``Accept-Language`` header.

    >>> _from_accept_language("en-GB;q=0.4, ru-RU")
    'ru'
    >>> _from_accept_language("de, *;q=0.1") is None
    True
    """
    best: tuple[float, str] | None = None
    for item in header.split(",")[:32]:
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().split("-")[0].lower()
        if primary not in LANGUAGES:
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        if q > 0 and (best is None or q > best[0]):
            best = (q, primary)
    return best[1] if best else None


def pick_language(*, query: str | None, cookie: str | None, accept: str | None) -> str:
    """``query`` (``?lang=``), else the ``pg_lang`` cookie, else ``Accept-Language``, else English."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate  # type: ignore[return-value]
    if accept:
        found = _from_accept_language(accept)
        if found:
            return found
    return DEFAULT_LANGUAGE
