"""AI assistance: redaction of personal data before any text leaves for a model (`redact`)."""
