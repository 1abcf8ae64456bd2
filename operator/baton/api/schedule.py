"""How a Pipeline runs itself (a schedule, triggers), how many of its runs may be active, and are kept."""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from baton.api.common import LIST_SET, DnsLabel, DnsSubdomain, SpecModel
from baton.api.datasets import DatasetUri


class ConcurrencyPolicy(StrEnum):
    """What a due slot does while a run created by an earlier slot is still active (as a CronJob)."""

    ALLOW = "Allow"
    """Create the slot's run anyway (maxActiveRuns may still make it wait as Queued)."""
    FORBID = "Forbid"
    """Wait for the earlier run to end, then create the slot's run (within startingDeadlineSeconds; a
    slot that comes meanwhile replaces a waiting one, per catchup). The default: two runs of one data
    pipeline at once usually write the same partitions."""
    REPLACE = "Replace"
    """Cancel the earlier scheduled run (its finally tasks still run), then create the slot's run."""


class Catchup(StrEnum):
    """Which slots that passed while nobody scheduled (operator down, schedule suspended) still run."""

    NONE = "None"
    """None of them: only a slot that is due right now runs."""
    LATEST = "Latest"
    """The latest of them (the default, as a CronJob)."""
    ALL = "All"
    """Each of them, oldest first, at most the latest 100 (an Event says how many more were missed)."""


class TriggerPhase(StrEnum):
    """How an upstream run ended."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


class ScheduleSpec(SpecModel):
    """Create a run of the Pipeline at each slot of a cron schedule, exactly once per slot."""

    cron: str = Field(min_length=1, max_length=256)
    """Five cron fields (minute hour day-of-month month day-of-week), or @hourly, @daily (@midnight),
    @weekly, @monthly, @yearly (@annually)."""
    timezone: str | None = Field(default=None, max_length=64)
    """IANA time zone the cron fields are read in (for example Europe/Berlin); UTC when not set."""
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.FORBID
    """Allow, Forbid (the default) or Replace: what a due slot does while the run of an earlier slot is
    still active."""
    starting_deadline_seconds: int | None = Field(default=None, ge=1)
    """A slot whose run could not be created within this many seconds of its time is missed (counted,
    with an Event) instead of started late. No deadline when not set."""
    catchup: Catchup = Catchup.LATEST
    """After downtime: None, Latest (the default) or All (at most 100) of the slots that passed."""
    suspend: bool = False
    """While true no slot is scheduled; slots that pass meanwhile are handled per catchup on resume."""
    params: dict[str, str] = Field(default_factory=dict)
    """Params of the scheduled runs. `$(schedule.time)`, `$(schedule.date)`, `$(schedule.intervalStart)`
    and `$(schedule.intervalEnd)` are replaced by the slot's values, in the schedule's time zone."""


class PipelineTrigger(SpecModel):
    """Start a run of this Pipeline each time a run of another Pipeline ends in one of `phases`, or each
    time a task that succeeded updates a dataset that matches `dataset`."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.pipeline) != has(self.dataset)",
                    "message": "set one of pipeline and dataset",
                }
            ]
        }
    )

    pipeline: DnsSubdomain | None = None
    """The upstream Pipeline."""
    dataset: DatasetUri | None = None
    """Instead of pipeline: a dataset URI, or a glob of them (`s3://lake/sales/*`), in this namespace. Each
    update by a task that succeeded starts one run; `$(trigger.dataset.uri)`, `$(trigger.dataset.partition)`,
    `$(trigger.run)` and `$(trigger.pipeline)` (the producer's) may be used in params."""
    namespace: DnsLabel | None = None
    """Its namespace; this Pipeline's when not set. Another namespace works only where the operator
    watches both and the upstream Pipeline allows it (its allowTriggersFrom names this namespace)."""
    phases: list[TriggerPhase] = Field(
        default_factory=lambda: [TriggerPhase.SUCCEEDED], min_length=1, json_schema_extra=LIST_SET
    )
    """Phases of the upstream run that start a run here: Succeeded (the default), Failed, Cancelled."""
    params: dict[str, str] = Field(default_factory=dict)
    """Params of the triggered runs. `$(trigger.run)`, `$(trigger.pipeline)`, `$(trigger.namespace)`,
    `$(trigger.phase)`, `$(trigger.params.NAME)` and `$(trigger.results.NAME)` are replaced by the upstream
    run's values."""

    @model_validator(mode="after")
    def _one_source(self) -> PipelineTrigger:
        if (self.pipeline is None) == (self.dataset is None):
            raise ValueError("set one of pipeline and dataset")
        return self


class RunHistory(SpecModel):
    """How many finished runs of the Pipeline are kept (the newest); older ones are deleted, with their
    Jobs, Pods and claims."""

    succeeded: int | None = Field(default=None, ge=0)
    """Succeeded runs to keep; all when not set."""
    failed: int | None = Field(default=None, ge=0)
    """Failed and cancelled runs to keep; all when not set."""


__all__ = ["Catchup", "ConcurrencyPolicy", "PipelineTrigger", "RunHistory", "ScheduleSpec", "TriggerPhase"]
