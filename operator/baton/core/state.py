"""The planner's view of a run: who it is (for names, labels, ownerReferences) and its status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from baton.api.common import MAX_TIMEOUT_SECONDS
from baton.api.pipeline import PipelineSpec
from baton.api.run import PipelineRunStatus

ANCESTRY = "baton.dev/ancestry"
"""Annotation of a child run: the Pipelines of the runs above it, outermost first, comma-separated."""


@dataclass(frozen=True, slots=True)
class RunMeta:
    """The identity of a PipelineRun."""

    namespace: str
    name: str
    uid: str
    generation: int = 1
    ancestry: tuple[str, ...] = ()
    """For the child run of a sub-pipeline task: the Pipelines of the runs above it, outermost first."""

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> RunMeta:
        above = (metadata.get("annotations") or {}).get(ANCESTRY) or ""
        return cls(
            namespace=metadata.get("namespace") or "default",
            name=metadata["name"],
            uid=metadata.get("uid") or "",
            generation=metadata.get("generation") or 1,
            ancestry=tuple(part for part in str(above).split(",") if part),
        )


@dataclass(frozen=True, slots=True)
class RunControl:
    """How the run's spec steers it while it runs (these fields may change after the start)."""

    cancel: bool = False
    cancel_finally: bool = False
    """With cancel: stop and skip the finally tasks too."""
    cancel_message: str | None = None
    suspend: bool = False
    timeout_seconds: int | None = None
    """The run's own timeout, overriding the Pipeline's."""
    finally_timeout_seconds: int | None = None
    """The run's own budget for its finally tasks, overriding the Pipeline's."""
    no_cache: bool = False
    """spec.cache is Disabled: every task runs."""

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> RunControl:
        """Read leniently from a run's spec as stored (the API server validated it already)."""
        spec = spec or {}
        cancel = spec.get("cancel")
        control = cls(
            suspend=spec.get("suspend") is True,
            timeout_seconds=_seconds(spec.get("timeoutSeconds")),
            finally_timeout_seconds=_seconds(spec.get("finallyTimeoutSeconds")),
            no_cache=spec.get("cache") == "Disabled",
        )
        if not isinstance(cancel, Mapping):
            return control
        message = cancel.get("message")
        return replace(
            control,
            cancel=True,
            cancel_finally=cancel.get("runFinally") is False,
            cancel_message=str(message) if message else None,
        )


def _seconds(value: object) -> int | None:
    """A timeout as stored; one past the schema's bound (a run stored before it had one) is capped."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return min(value, MAX_TIMEOUT_SECONDS)
    return None


@dataclass(frozen=True, slots=True)
class RunState:
    """A started run: its identity, its status (which holds the frozen spec and resolved params), and
    the steering fields of its spec."""

    meta: RunMeta
    status: PipelineRunStatus
    control: RunControl = RunControl()

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
