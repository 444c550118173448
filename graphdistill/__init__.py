"""graphdistill: dataset condensation and data-free knowledge distillation on one matching core.

Modalities live in ``graphdistill.graph``, ``graphdistill.text``, ``recsys`` and ``vision``; all
of them build on ``graphdistill.core``.
"""

__version__ = "0.1.0"
