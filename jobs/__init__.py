"""Scheduled work: each job sweeps due rows in the database."""
