"""Image dataset distillation and data-free knowledge distillation (planned; see the vision issues)."""
