"""AI assistance: the model client, the knowledge base, and the redaction of personal data
before any text leaves for a model."""
