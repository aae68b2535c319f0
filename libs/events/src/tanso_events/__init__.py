"""Tanso integration events and the messaging plumbing every service shares.

- :mod:`tanso_events.envelope` — the CloudEvents 1.0 envelope and the event base class.
- :mod:`tanso_events.catalog` — the v1 integration events (the public contract between services).
- :mod:`tanso_events.store` — event store (optimistic concurrency), outbox and inbox tables.
- :mod:`tanso_events.unit_of_work` — one transaction: append events, run projectors, fill the outbox.
- :mod:`tanso_events.relay` — publishes the outbox to Kafka.
- :mod:`tanso_events.kafka` — FastStream wiring with at-least-once acknowledgement.
"""
