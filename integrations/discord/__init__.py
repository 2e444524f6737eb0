"""Discord: where customers write."""
