"""What model calls cost: the one price table, and the usage a call is billed for.

Prices are list prices in US dollars per million tokens, per provider, keyed by a
model name or a prefix of one (``claude-sonnet-4-5`` covers the dated
``claude-sonnet-4-5-20250929``); the longest matching key wins. A template's
``prices`` join the table and win over it for the same key, so an organization with
other rates, or a model this table does not know yet, can say what it pays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from taskyard.model.template import ModelPrice

PER_TOKEN = 1e-6  # prices are per million tokens


def _price(fresh: float, output: float, cached: float, write: float | None = None) -> ModelPrice:
    return ModelPrice(input=fresh, output=output, cached_input=cached, cache_write=write)


# Anthropic bills cache reads at a tenth of the input price and 5-minute cache writes
# at 1.25 times it; OpenAI and Google bill no cache writes.
TABLE: dict[str, dict[str, ModelPrice]] = {
    "anthropic": {
        "claude-opus-4-5": _price(5, 25, 0.5, 6.25),
        "claude-opus-4": _price(15, 75, 1.5, 18.75),
        "claude-sonnet-4": _price(3, 15, 0.3, 3.75),
        "claude-3-7-sonnet": _price(3, 15, 0.3, 3.75),
        "claude-haiku-4-5": _price(1, 5, 0.1, 1.25),
        "claude-3-5-haiku": _price(0.8, 4, 0.08, 1.0),
    },
    "openai": {
        "gpt-5": _price(1.25, 10, 0.125),
        "gpt-5-mini": _price(0.25, 2, 0.025),
        "gpt-5-nano": _price(0.05, 0.4, 0.005),
        "gpt-4.1": _price(2, 8, 0.5),
        "gpt-4.1-mini": _price(0.4, 1.6, 0.1),
        "gpt-4.1-nano": _price(0.1, 0.4, 0.025),
        "gpt-4o": _price(2.5, 10, 1.25),
        "gpt-4o-mini": _price(0.15, 0.6, 0.075),
        "o3": _price(2, 8, 0.5),
        "o4-mini": _price(1.1, 4.4, 0.275),
    },
    "google": {
        "gemini-2.5-pro": _price(1.25, 10, 0.31),
        "gemini-2.5-flash": _price(0.3, 2.5, 0.075),
        "gemini-2.5-flash-lite": _price(0.1, 0.4, 0.025),
    },
}


@dataclass
class Usage:
    """The tokens one model call was billed for.

    Attributes:
        input_tokens: All input tokens, those read from or written to the cache included.
        cached_input_tokens: Input tokens read from the prompt cache.
        cache_write_tokens: Input tokens written to the prompt cache.
        output_tokens: Output tokens, reasoning included.
    """

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def price_of(
    provider: str, model: str, overrides: Mapping[str, ModelPrice] | None = None
) -> ModelPrice | None:
    """The price of ``model`` at ``provider``, or None if neither list knows it.

    The longest key that prefixes the model wins, from the template's ``overrides``
    and the table together (the template's on a tie): overriding ``gpt-4.1`` leaves
    ``gpt-4.1-mini`` at its own price.
    """
    # Some clients name models with their provider ("openai/gpt-4.1", "models/gemini-…").
    model = model.rsplit("/", 1)[-1]
    candidates = [
        (len(key), rank, price)
        for rank, prices in enumerate((TABLE.get(provider, {}), overrides or {}))
        for key, price in prices.items()
        if model.startswith(key)
    ]
    return max(candidates, key=lambda c: c[:2])[2] if candidates else None


def cost_of(usage: Usage, price: ModelPrice) -> float:
    """What ``usage`` costs at ``price``, in US dollars."""
    cached = price.input if price.cached_input is None else price.cached_input
    write = price.input if price.cache_write is None else price.cache_write
    fresh = max(usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens, 0)
    return PER_TOKEN * (
        fresh * price.input
        + usage.cached_input_tokens * cached
        + usage.cache_write_tokens * write
        + usage.output_tokens * price.output
    )
