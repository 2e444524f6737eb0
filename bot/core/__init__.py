"""The core: tickets and their rules, the use cases, SLA arithmetic and the ports.

It imports no platform, database, AI or scheduler code (an import-linter contract in
pyproject.toml enforces it): adapters in `integrations/`, `storage/` and `jobs/` implement its
ports, and the composition root beside it in `bot/` wires them together.
"""
