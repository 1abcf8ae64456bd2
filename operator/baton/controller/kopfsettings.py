"""kopf's settings for Baton: kopf watches only runs, Pipelines and Datasets, and keeps nothing per object."""

from __future__ import annotations

from typing import Any, cast

import kopf


class _NoDiffBase(kopf.DiffBaseStorage):
    """Baton has no kopf create/update handlers, so kopf's "last handled state" is never read; skipping it
    saves a deep copy of every object on every event (large runs make that the biggest kopf cost)."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return cast(kopf.BodyEssence, {})

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def operator_settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.persistence.diffbase_storage = _NoDiffBase()
    settings.posting.enabled = False  # Baton posts its own few Events; kopf's would be per-handler chatter
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.error_backoffs = [1, 2, 5, 10]
    return settings
