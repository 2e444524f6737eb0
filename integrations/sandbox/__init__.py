"""Wire-level loopback emulators of Slack and Discord for tests, benchmarks and demos."""
