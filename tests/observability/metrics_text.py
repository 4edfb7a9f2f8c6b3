"""Reading a /metrics answer with Prometheus' own text parser."""

from prometheus_client.parser import text_string_to_metric_families

# The samples each type of metric family exposes, by suffix.
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
            "summary": ("_count", "_sum", "_created"), "gauge": ("",), "info": ("_info",), "stateset": ("",),
            "gaugehistogram": ("_bucket", "_gcount", "_gsum"), "unknown": ("",)}


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """(sample name, its labels) -> value."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when there are none)."""
    wanted = set(labels.items())
    return sum(v for (n, sample_labels), v in found.items() if n == name and wanted <= sample_labels)


def exposed_names(text: str) -> set[str]:
    """Every sample name the exposition declares, including those of labelled families with no sample yet."""
    return {family.name + suffix for family in text_string_to_metric_families(text)
            for suffix in SUFFIXES[family.type]}
