"""Request and response models (SPEC §1, §3): they validate requests and generate ``/openapi.json``.

Requests are strict (a number is not a string) and ignore unknown fields; response models forbid
extra fields, so the OpenAPI schemas say exactly what the service sends (tests check real responses
against them).

>>> ScanRequest.model_validate({"text": "hi", "unknown": 1}).fetch
False
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "REQUEST_MODELS",
    "RESPONSE_MODELS",
    "BatchItem",
    "BatchRequest",
    "BatchResponse",
    "ErrorResponse",
    "Health",
    "ItemError",
    "Reloaded",
    "ScanRequest",
    "Verdict",
    "first_error",
]

Lang = Literal["ru", "en"]
MessageId = str | int


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScanRequest(_Request):
    """One message to scan."""

    text: str = Field(description="The chat message (longer than the text limit: scanned up to it, degraded).")
    id: MessageId | None = Field(None, description="Your message id, echoed in the verdict.")
    lang: Lang | None = Field(None, description="Language of the summary; default: the server's.")
    fetch: bool = Field(
        False, description="Also fetch the pages behind non-official links (SSRF-safe, within settings.fetch.budget_ms) and judge them."
    )
    context: dict[str, Any] | None = Field(
        None, description="Chat, sender, listing, marketplace ids: echoed in the verdict."
    )


class BatchItem(_Request):
    """One message of a batch."""

    text: str = Field(description="The chat message.")
    id: MessageId | None = Field(None, description="Your message id, echoed in its result.")
    lang: Lang | None = Field(None, description="Overrides the batch's lang for this message.")
    context: dict[str, Any] | None = Field(None, description="Echoed in the verdict.")


class BatchRequest(_Request):
    """Many messages; each is checked on its own (a bad one gets an error in its place)."""

    messages: list[Any] = Field(
        description="Items of the shape of BatchItem, answered in order; any other item is answered with an error in its place.",
        json_schema_extra={
            "items": {
                "anyOf": [
                    {"$ref": "#/components/schemas/BatchItem"},
                    {"description": "Anything else: its result is {id, error: invalid_request}, the other items are scanned."},
                ]
            }
        },
    )
    lang: Lang | None = Field(None, description="Language of the summaries; default: the server's.")
    fetch: bool = Field(False, description="Also fetch and judge the pages behind each message's non-official links.")


class Message(_Response):
    en: str
    ru: str


class Reason(_Response):
    rule: str = Field(description="Rule id, family.name.")
    category: Literal[
        "lookalike_domain", "card_request", "payment_page", "scam_script", "off_platform",
        "url_structure", "text_model", "spam", "reputation", "degraded",
    ]
    severity: Literal["info", "low", "medium", "high", "critical"]
    weight: float = Field(ge=0, le=1)
    evidence: str
    message: Message


class UrlInfo(_Response):
    url: str
    display: str
    host: str
    registered_domain: str | None
    brand: str | None
    official: bool | None
    findings: list[str]


class Verdict(_Response):
    """The verdict of one message (SPEC §1)."""

    id: MessageId | None = Field(None, description="Echoed from the request when given (absent otherwise).")
    verdict: Literal["safe", "suspicious", "fraud"]
    score: float = Field(ge=0, le=1)
    summary: str
    reasons: list[Reason]
    urls: list[UrlInfo]
    models: dict[str, Any]
    rules_version: str
    context: dict[str, Any] | None = Field(None, description="Echoed from the request when given.")
    elapsed_ms: float = Field(ge=0)


class ErrorDetail(_Response):
    code: str = Field(description="Machine-readable: invalid_json, invalid_request, unauthorized, forbidden, …")
    message: str = Field(description="One line for a person.")


class ItemError(_Response):
    """A batch item that could not be scanned (invalid, or left over when the time budget was spent)."""

    id: Any = Field(description="The item's id when it had one, else null.")
    error: ErrorDetail


class BatchResponse(_Response):
    results: list[Verdict | ItemError] = Field(description="One entry per message, in order.")


class ErrorResponse(_Response):
    error: ErrorDetail


class Health(_Response):
    status: Literal["ok"]
    rules_version: str | None = None


class Reloaded(_Response):
    status: Literal["reloaded"]
    rules_version: str
    previous_rules_version: str


REQUEST_MODELS: tuple[type[BaseModel], ...] = (ScanRequest, BatchItem, BatchRequest)
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (Verdict, ItemError, BatchResponse, ErrorResponse, Health, Reloaded)


def first_error(exc: ValidationError, prefix: str = "") -> str:
    """One line naming the first invalid field.

    >>> try:
    ...     ScanRequest.model_validate({"text": 5})
    ... except ValidationError as e:
    ...     print(first_error(e))
    text: Input should be a valid string
    """
    err = exc.errors(include_url=False)[0]
    loc = ".".join([prefix, *map(str, err["loc"])] if prefix else map(str, err["loc"])) or "body"
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{loc}: {err['msg']}{more}"
