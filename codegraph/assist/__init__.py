"""LLM-assisted generation and testing (generate, test)."""
