"""The xAPI document resources: State, Activity Profile and Agent Profile.

``router`` serves them at ``/activities/state``, ``/activities/profile`` and ``/agents/profile``,
relative to the xAPI base (the LRS app includes it under ``/xAPI``). It needs
``app.state.settings`` and ``app.state.sessionmaker``.
"""

from __future__ import annotations

from aspects.lrs.documents.routes import build_router

router = build_router()

__all__ = ["build_router", "router"]
