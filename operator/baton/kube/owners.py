"""Owner references to a PipelineRun: what ties a run's Jobs and claims to it for garbage collection."""

from __future__ import annotations

from typing import Any

from baton import GROUP, VERSION
from baton.core.state import RunMeta


def run_owner(run: RunMeta, *, controller: bool) -> dict[str, Any]:
    """An ownerReference to ``run``. The controlling owner of an object is the run that made it; a retry
    that reuses another run's claim is an owner too, but not its controller."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineRun",
        "name": run.name,
        "uid": run.uid,
        "controller": controller,
        "blockOwnerDeletion": True,
    }
