"""Embedding-space text distillation (planned: see the project's text-distillation issue)."""
