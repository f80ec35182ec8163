"""The transactional outbox: side effects that must reach Redis, written with the change that caused them."""
