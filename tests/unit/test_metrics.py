"""Metrics render as Prometheus text: HELP and TYPE lines, labelled series, cumulative buckets."""

from __future__ import annotations

from activityschema.interfaces.metrics import Metrics


def test_prometheus_text_format():
    m = Metrics()
    m.counter("x_total", "Things.")
    m.histogram("q_seconds", "Latency.")
    m.gauge("g", "A gauge.", lambda: 3)
    m.inc("x_total", 2, route='a"b')
    m.observe("q_seconds", 0.003, template="t")
    m.observe("q_seconds", 20, template="t")
    text = m.render()
    assert "# TYPE x_total counter\n" in text and 'x_total{route="a\\"b"} 2\n' in text
    assert 'q_seconds_bucket{template="t",le="0.0025"} 0\n' in text
    assert 'q_seconds_bucket{template="t",le="0.005"} 1\n' in text
    assert 'q_seconds_bucket{template="t",le="+Inf"} 2\n' in text and 'q_seconds_count{template="t"} 2\n' in text
    assert "# TYPE g gauge\ng 3\n" in text
