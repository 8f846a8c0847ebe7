"""Offline Korean policy assistant: question → guard → retrieve → evidence → local LLM → cited answer."""
__version__ = "0.1.0"
