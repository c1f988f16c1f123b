"""Observability as code: PromQL, alert rules and Grafana dashboards shared by every component."""
