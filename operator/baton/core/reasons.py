"""The CamelCase reasons Baton writes into task statuses and the run's Succeeded condition.

A task's ``reason`` says why it is in its phase; the failure kinds (Failed, OOMKilled, DeadlineExceeded,
PodEvicted, JobLost) are ``baton.api.pipeline.FailureKind``. The run's outcome is derived from these
reasons alone, so it can always be recomputed from the task list.
"""

from __future__ import annotations

# Why a task was Skipped (never started).
UPSTREAM_FAILED = "UpstreamFailed"
"""allSucceeded (the default rule) can no longer hold: a dependency failed (or was skipped because of a
failure further up)."""
UPSTREAM_SKIPPED = "UpstreamSkipped"
"""allSucceeded can no longer hold: a dependency was skipped (its own rule did not hold), not failed."""
WHEN_NOT_MET = "WhenNotMet"
"""Another `when` rule can no longer hold."""
FAIL_FAST = "FailFast"
"""failurePolicy FailFast: a task failed, so nothing new starts."""

# Why a task was stopped or skipped by the run (both also for tasks stopped while running).
CANCELLED = "Cancelled"
"""The run was cancelled."""
RUN_TIMEOUT = "RunTimeout"
"""The run's timeout passed."""

REUSED = "Reused"
"""A retry run reused the task's success from the run it retries."""

# Reasons of the run's Succeeded condition besides its phase names.
TIMEOUT = "Timeout"
CANCELLING = "Cancelling"
"""Cancelled; the finally tasks are still running."""
TIMING_OUT = "TimingOut"
"""The run's timeout stopped its tasks; the finally tasks are still running."""
