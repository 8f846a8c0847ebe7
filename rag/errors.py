"""Errors of the online layer that more than one module raises; each message says what is wrong and how to fix it."""
from __future__ import annotations


class ModelProvisionError(RuntimeError):
    """A default model cannot be provisioned or loaded; the message says what is wrong and how to fix it."""


class GeneratorError(RuntimeError):
    """The generator failed on a request (context overflow, server error, unreachable server)."""
