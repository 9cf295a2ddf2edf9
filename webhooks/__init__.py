"""Webhooks (DESIGN §7): the outbox, signed deliveries, and signed checkpoints of the audit chains."""
