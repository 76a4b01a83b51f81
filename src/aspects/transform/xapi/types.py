"""The shape every family module implements: one event in, its statements out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aspects.transform.event import Event
from aspects.transform.statement import Builder

Statement = dict[str, Any]
Transform = Callable[[Builder, Event], list[Statement]]
