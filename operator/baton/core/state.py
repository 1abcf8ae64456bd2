"""The planner's view of a run: who it is (for names, labels, ownerReferences) and its status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from baton.api.pipeline import PipelineSpec
from baton.api.run import PipelineRunStatus


@dataclass(frozen=True, slots=True)
class RunMeta:
    """The identity of a PipelineRun."""

    namespace: str
    name: str
    uid: str
    generation: int = 1

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> RunMeta:
        return cls(
            namespace=metadata.get("namespace") or "default",
            name=metadata["name"],
            uid=metadata.get("uid") or "",
            generation=metadata.get("generation") or 1,
        )


@dataclass(frozen=True, slots=True)
class RunState:
    """A started run: its identity and its status, which holds the frozen spec and resolved params."""

    meta: RunMeta
    status: PipelineRunStatus

    def __post_init__(self) -> None:
        if self.status.pipeline_spec is None or self.status.phase is None:
            raise ValueError(f"run {self.meta.name} has not been started (no status.pipelineSpec)")

    @property
    def spec(self) -> PipelineSpec:
        assert self.status.pipeline_spec is not None  # checked in __post_init__
        return self.status.pipeline_spec

    @property
    def params(self) -> Mapping[str, str]:
        return self.status.params

    @property
    def pipeline(self) -> str | None:
        return self.status.pipeline
