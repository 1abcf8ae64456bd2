"""One set of field names for all model instances that set the same fields.

pydantic keeps, per instance, the names of the fields that were set (``__pydantic_fields_set__``): a set
of 216 bytes, or 728 from five names on. A 10,000-task run holds 10,000 task specs and 10,000 task
statuses whose sets repeat a few combinations, so sharing them saves about 9 MB there.

Sharing is safe because every model of Baton's API is frozen: pydantic adds to an instance's set only on
assignment (refused for a frozen model), and `model_copy` copies the set before it adds the updated names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel

_SHARED: dict[frozenset[str], set[str]] = {}
LIMIT = 4096
"""Combinations shared at most (a model has few in practice); beyond it an instance keeps its own set."""


def _share(model: BaseModel) -> None:
    names = model.__pydantic_fields_set__
    key = frozenset(names)
    shared = _SHARED.get(key)
    if shared is None:
        if len(_SHARED) >= LIMIT:
            return
        shared = _SHARED[key] = set(key)
    object.__setattr__(model, "__pydantic_fields_set__", shared)


class SharedFieldsSet(BaseModel):
    def model_post_init(self, context: Any, /) -> None:
        _share(self)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        _share(copied)
        return copied
