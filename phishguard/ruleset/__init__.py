"""Rules: schema, loader, matcher registry, engine, and the checker that runs inline examples."""

from .loader import CompiledRule, RuleLoadError, RuleSet, load_ruleset
from .matchers import MATCHERS, Hit, LinkView, MessageView, matcher
from . import text_matchers  # noqa: F401  (registers the text matchers: near)
from . import model_matchers  # noqa: F401  (registers the model matchers: text_model, url_model)
from . import moderated  # noqa: F401  (registers moderator_list)

__all__ = [
    "CompiledRule",
    "RuleLoadError",
    "RuleSet",
    "load_ruleset",
    "MATCHERS",
    "Hit",
    "LinkView",
    "MessageView",
    "matcher",
]
