"""Threadline's core: the ticket model, the use cases and the ports adapters implement."""
