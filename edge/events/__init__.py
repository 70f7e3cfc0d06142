"""Alert events out: a transactional outbox in the alert database (:mod:`edge.store.outbox`), and
a notifier (:mod:`edge.events.notifier`) that delivers it to MQTT (:mod:`edge.events.mqtt`, with
Home Assistant discovery) and webhooks (:mod:`edge.events.webhook`), in order, without losing one."""
