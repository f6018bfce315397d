"""Dotted paths into decoded values (``"data.order_id"``): one lookup for the whole kit.

A leaf (standard library only): the contract model, the message checks, the assertions'
id extractors and the consumer-side runner (which must import fast) all read fields
through :func:`field_at`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: What :func:`field_at` returns for a path that is not there.
MISSING: Any = object()


def field_at(value: Any, dotted: str) -> Any:
    """``value["data"]["order_id"]`` for ``"data.order_id"``; :data:`MISSING` if absent."""
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def with_field(value: Mapping[str, Any], dotted: str, new: Any) -> dict[str, Any]:
    """A copy of ``value`` with ``new`` at ``dotted`` (intermediate objects are copied,
    or created when absent or not objects); ``value`` itself is left as it was."""
    head, _, rest = dotted.partition(".")
    out = dict(value)
    if not rest:
        out[head] = new
    else:
        inner = out.get(head)
        out[head] = with_field(inner if isinstance(inner, Mapping) else {}, rest, new)
    return out
