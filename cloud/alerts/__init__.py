"""Alerting: rules, grouping, severity, texts, channels, delivery, acknowledgement.

Entry points: :func:`cloud.alerts.bootstrap.build_from_site` (the service, an
``AlertSink``), ``AlertService.tick()`` (call every few seconds: grace flush, escalation)
and ``AlertService.ack()``.
"""
