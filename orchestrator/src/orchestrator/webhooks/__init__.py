"""Webhooks: telling a task's submitter that it ended (outbox.py: the durable queue of deliveries;
sender.py: the loop that delivers them, off every task's path)."""
