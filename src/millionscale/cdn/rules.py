"""The knobs of the shared-cache rules (:func:`.storable.to_store`, :func:`.lookup.lookup`).

Every default is the RFC's behaviour or the common CDN reading of it; each says
where it comes from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["RulesSettings"]


@dataclass(frozen=True, slots=True)
class RulesSettings:
    """How this cache reads what the RFCs leave to it.

    - ``heuristic_fraction``: RFC 9111 §4.2.2, a heuristic lifetime is "no more
      than some fraction of the interval since [Last-Modified]. A typical
      setting of this fraction might be 10%."
    - ``heuristic_max_s``: the cap on a heuristic lifetime. One day: Squid's
      ``refresh_pattern`` default max is 3 days and ATS's
      ``proxy.config.http.cache.heuristic_max_lifetime`` is 1 day; we take ATS's.
    - ``default_ttl_s``: the lifetime of a heuristically cacheable response with
      neither explicit freshness nor ``Last-Modified`` (0: stored, but every use
      is a revalidation).
    - ``default_stale_if_error_s``: the window in which a stale response may
      stand in for an origin error when the response gives no ``stale-if-error``
      (RFC 5861 §4) of its own; the CDN's "grace" (Varnish's ``beresp.grace``).
      0: none.
    - ``cdn_cache_control_target``: the targeted field this cache obeys (RFC 9213
      §2.1's "target list", of one); ``None`` obeys none.
    - ``client_cache_control``: whether request ``Cache-Control``/``Pragma``
      (RFC 9111 §5.2.1, §5.4) are honoured. True is the RFC; False is the
      common CDN hardening (Varnish's builtin VCL ignores them, and a client's
      ``no-cache`` would otherwise let any client turn every hit into an
      origin fetch).
    """

    heuristic_fraction: float = 0.1
    heuristic_max_s: float = 86400.0
    default_ttl_s: float = 0.0
    default_stale_if_error_s: float = 0.0
    cdn_cache_control_target: bytes | None = b"cdn-cache-control"
    client_cache_control: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.heuristic_fraction <= 1.0:
            raise ValueError(
                f"heuristic_fraction is a fraction in [0, 1], not {self.heuristic_fraction}"
            )
        for name in ("heuristic_max_s", "default_ttl_s", "default_stale_if_error_s"):
            value = getattr(self, name)
            if not (value >= 0.0 and not math.isnan(value)):
                raise ValueError(f"{name} must be a non-negative number of seconds, not {value}")
        target = self.cdn_cache_control_target
        if target is not None and (not target or target != target.lower()):
            raise ValueError(f"cdn_cache_control_target is a lower-case field name, not {target!r}")
