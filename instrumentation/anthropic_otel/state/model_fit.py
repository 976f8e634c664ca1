"""Model fit: which successful calls did short-output work on a model pricier than a cheaper one.

A call whose output is at most `max_output_tokens` tokens (classification, routing, extraction of a
label) is the work a cheaper model usually does as well. Such a call is counted when its cost exceeds
what the same usage (cache tokens priced as cache tokens) would cost on the cheaper model. Whether a
model can ever exceed the cheaper model is decided once per model ID and memoised, so a call of a
model that cannot (the cheaper model itself, a model as cheap, an unknown model) costs one dict
lookup; a model that can costs the threshold test and, past it, one pricing of its usage.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from .. import semconv

if TYPE_CHECKING:
    from ..extract.usage import Usage
    from ..pricing import CallCost, ModelPrice, PriceTable
    from ..recorder import Recorder

_log = logging.getLogger(semconv.LOGGER)

# Model IDs remembered; past it a model is decided again on each call (still correct, a bit slower).
_CACHE_CAP: Final = 1024


class ModelFit:
    """Decides and records model fit for one `instrument()`; `enabled` is False when the cheaper
    model has no price (then `call_succeeded` is never worth calling)."""

    __slots__ = (
        "_prices",
        "_recorder",
        "cheaper_model",
        "max_output_tokens",
        "enabled",
        "_cheaper",
        "_pricier",
    )

    def __init__(
        self, prices: PriceTable, recorder: Recorder, cheaper_model: str, max_output_tokens: int
    ) -> None:
        self._prices = prices
        self._recorder = recorder
        self.cheaper_model = cheaper_model
        self.max_output_tokens = max_output_tokens
        key = prices.key_for(cheaper_model)
        self._cheaper: ModelPrice | None = prices.price(cheaper_model) if key is not None else None
        self.enabled = self._cheaper is not None
        if not self.enabled:
            _log.warning(
                semconv.LOG_PREFIX + "%s=%r has no price (table as of %s; add it with a price file, %s): "
                "model fit is off",
                semconv.ENV_MODEL_FIT_CHEAPER_MODEL,
                cheaper_model,
                prices.as_of,
                semconv.ENV_PRICES_FILE,
            )
        # model ID -> whether some token kind costs more on it than on the cheaper model.
        self._pricier: dict[str, bool] = {}

    def call_succeeded(self, model: str, usage: Usage, cost: CallCost) -> None:
        """A successful, complete call of `model` with `usage` that cost `cost`."""
        if usage.output > self.max_output_tokens:
            return
        pricier = self._pricier.get(model)
        if pricier is None:
            pricier = self._decide(model)
        if not pricier:
            return
        # The work moved to the cheaper model runs there at standard speed: fast mode is a premium
        # chosen per model (and most cheaper models have none, which would leave the cost unknown).
        if usage.speed is not None:
            usage = usage.at_standard_speed()
        cheaper = self._prices.cost(usage, self.cheaper_model)
        if cheaper is not None and cost.total > cheaper.total:
            self._recorder.model_fit(model, self.cheaper_model, cost.total, cheaper.total)

    def _decide(self, model: str) -> bool:
        cheaper = self._cheaper
        # An unknown model never got a cost, so it never gets here; `price` memoises either way.
        price = self._prices.price(model)
        pricier = (
            cheaper is not None
            and price is not None
            and any(mine > theirs for (_, mine), (_, theirs) in zip(price.by_type(), cheaper.by_type()))
        )
        if len(self._pricier) < _CACHE_CAP:
            self._pricier[model] = pricier
        return pricier
