"""The modality-agnostic core: datasets, budgets, evaluation, checkpoints, devices, seeding.

The core never imports a modality.
"""
