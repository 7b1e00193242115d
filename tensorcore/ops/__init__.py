"""Differentiable ops: ``Function`` subclasses over the kernel registry, one family per file."""
