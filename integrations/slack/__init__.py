"""Slack: where agents work tickets."""
