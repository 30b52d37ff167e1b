"""Reading a process's Prometheus metrics the way Prometheus does.

Built on ``prometheus_client.parser.text_string_to_metric_families``, the
client library's own parser of the text exposition format, never on regular
expressions: label order, escaping, ``+Inf`` and exemplars are its business.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from millionscale.errors import MillionscaleError

__all__ = ["Metrics", "MetricsError", "Sample", "scrape"]

SCRAPE_TIMEOUT_S = 5.0


class MetricsError(MillionscaleError):
    """A metrics page that cannot be read, or lacks the sample asked for."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One line of an exposition: a sample name (``_total``, ``_bucket``... included),
    its labels and its value."""

    name: str
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Metrics:
    """Every sample of one scrape, in exposition order."""

    samples: tuple[Sample, ...]

    @classmethod
    def parse(cls, text: str) -> Metrics:
        """Parse a text exposition; :class:`MetricsError` if it is not one."""
        try:
            samples = tuple(
                Sample(s.name, dict(s.labels), float(s.value))
                for family in text_string_to_metric_families(text)
                for s in family.samples
            )
        except (ValueError, TypeError, IndexError) as error:
            raise MetricsError(
                f"not a Prometheus text exposition: {error}",
                hint="scrape the process's /metrics, not another page",
            ) from error
        return cls(samples)

    def sample(
        self, name: str, labels: Mapping[str, str] | None = None, *, default: float | None = None
    ) -> float:
        """The value of the sample ``name`` whose labels are exactly ``labels``.

        Without it, ``default`` if one is given (a counter not yet incremented
        is absent, and means 0), else :class:`MetricsError` naming the label
        sets that ``name`` does have.
        """
        wanted = dict(labels or {})
        for s in self.samples:
            if s.name == name and s.labels == wanted:
                return s.value
        if default is not None:
            return default
        have = [dict(s.labels) for s in self.samples if s.name == name]
        raise MetricsError(
            f"no sample {name}{_braces(wanted)}; "
            + (
                f"it has {', '.join(_braces(h) for h in have)}"
                if have
                else "no sample by that name"
            ),
            hint="check the metric's name (counters end in _total) and every label",
        )

    def total(self, name: str, **labels: str) -> float:
        """The sum of every sample ``name`` whose labels include ``labels`` (0 if none)."""
        return math.fsum(
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )


def scrape(url: str, *, timeout: float = SCRAPE_TIMEOUT_S) -> Metrics:
    """``GET url`` and parse it; :class:`MetricsError` if it does not answer 200."""
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as error:
        raise MetricsError(
            f"cannot scrape {url}: {error}", hint="is the process up and listening?"
        ) from error
    if response.status_code != 200:
        raise MetricsError(
            f"{url} answered {response.status_code}: {response.text[:200]!r}",
            hint="metrics are served on the process's own port, at /metrics",
        )
    return Metrics.parse(response.text)


def _braces(labels: Mapping[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
