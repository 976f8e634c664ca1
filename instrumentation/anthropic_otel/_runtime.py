"""What an active `instrument()` holds: the recorder, tracer, price table, duplicate detector, settings.

Hooks read the module-level `current` on every call; `uninstrument()` sets it back to None, which
turns every hook already attached (including middleware inside live clients) into a pass-through.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.trace import Tracer

from .dedup.detector import DuplicateDetector
from .pricing import PriceTable
from .recorder import Recorder
from .settings import Settings
from .state.model_fit import ModelFit
from .state.ratelimits import RateLimits
from .state.system_variants import SystemVariants
from .state.write_causes import WriteCauses


@dataclass
class Runtime:
    settings: Settings
    recorder: Recorder
    tracer: Tracer
    prices: PriceTable
    dedup: DuplicateDetector
    system_variants: SystemVariants
    ratelimits: RateLimits
    write_causes: WriteCauses
    # None when the cheaper model has no price: model fit is off.
    model_fit: ModelFit | None = None


current: Runtime | None = None
