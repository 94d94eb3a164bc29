"""vmbackup: the rules of Azure VM Backup as small, exact, tested models.

The models (consistency, transfer, retention, billing, capacity, restore, fleet) are pure
functions over numbers and tables. ``vmbackup.data`` is the one module that reads files;
``vmbackup.plots`` and the what-if apps in ``vmbackup.apps`` draw and interact, and are imported
only on demand, so ``import vmbackup`` stays light.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
