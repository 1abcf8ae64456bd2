"""Emitting OpenLineage run events through the `openlineage-python` client, never on the event loop.

Configured the client's own standard way: `OPENLINEAGE_CONFIG` (a YAML file), an `openlineage.yml` in the
working or home directory, `OPENLINEAGE_URL` (HTTP), or `OPENLINEAGE__TRANSPORT__…` environment variables;
`OPENLINEAGE_DISABLED=true` turns it off. With none of them the emitter is off: the client on its own would
fall back to printing every event on the console.

The client's transports block (HTTP with retries and timeouts), so the operator only puts events on a
bounded queue (`put_nowait`: a full queue drops the event and counts it in
`baton_lineage_events_dropped_total`) and one worker thread drains it. A lineage backend that is down or
never answers slows only that thread. Events are sent at most once: those queued when the operator stops
get `CLOSE_GRACE` seconds to go out.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterable
from typing import Any

from baton import __version__
from baton.core.lineage_events import ABORT, COMPLETE, FAIL, START, LineageEvent, dataset_name

from . import metrics

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
CLOSE_GRACE = 5.0
PRODUCER = f"https://baton.dev/operator/{__version__}"
JOB_NAMESPACE_ENV = "BATON_OPENLINEAGE_NAMESPACE"
"""The OpenLineage namespace of Baton's jobs ("baton" when not set)."""


def configured() -> bool:
    """Whether the environment configures an OpenLineage transport (see the module docstring)."""
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OPENLINEAGE_URL") or os.environ.get("OPENLINEAGE_CONFIG"):
        return True
    if any(name.startswith("OPENLINEAGE__TRANSPORT") for name in os.environ):
        return True
    from openlineage.client import OpenLineageClient

    return OpenLineageClient._find_yaml_config_path() is not None  # the client's own file lookup


class LineageEmitter:
    def __init__(self, client: Any, job_namespace: str = "baton", maxsize: int = QUEUE_SIZE) -> None:
        self.client = client
        self.job_namespace = job_namespace
        self._queue: queue.Queue[LineageEvent | None] = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._drain, name="baton-openlineage", daemon=True)
        self._thread.start()

    @classmethod
    def from_environment(cls) -> LineageEmitter | None:
        """An emitter with the client as the environment configures it; None when it configures none."""
        try:
            if not configured():
                return None
            from openlineage.client import OpenLineageClient

            client = OpenLineageClient()
        except ImportError:
            log.error("OpenLineage is configured but openlineage-python is not installed: no lineage is sent")
            return None
        except Exception as error:  # a broken config file or URL: say so, and run without lineage
            log.error("OpenLineage is configured but its client cannot start: %s", str(error)[:500])
            return None
        log.info("sending OpenLineage events with the %s transport", client.transport.kind)
        return cls(client, os.environ.get(JOB_NAMESPACE_ENV) or "baton")

    def submit(self, events: Iterable[LineageEvent]) -> None:
        """Queue ``events`` without waiting (called on the event loop)."""
        for event in events:
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                metrics.LINEAGE_EVENTS.labels(result="dropped").inc()

    def close(self, grace: float = CLOSE_GRACE) -> None:
        try:
            self._queue.put(None, timeout=grace)
        except queue.Full:
            pass
        self._thread.join(grace)
        try:
            self.client.close(grace)
        except Exception:  # closing a transport that never connected: nothing to lose
            log.debug("closing the OpenLineage client failed", exc_info=True)

    def _drain(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            try:
                self.client.emit(build_run_event(event, self.job_namespace))
            except Exception as error:  # the backend is down, refuses, or times out: count it and go on
                metrics.LINEAGE_EVENTS.labels(result="failed").inc()
                log.warning("sending an OpenLineage event failed: %s", str(error)[:300])
            else:
                metrics.LINEAGE_EVENTS.labels(result="sent").inc()


def build_run_event(event: LineageEvent, job_namespace: str) -> Any:
    """The client's RunEvent for ``event``."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import (
        data_quality_assertions_dataset,
        error_message_run,
        parent_run,
    )
    from openlineage.client.generated.base_subset_dataset import (
        InputSubsetInputDatasetFacet,
        OutputSubsetOutputDatasetFacet,
        Partition,
        PartitionSubsetCondition,
    )

    states = {START: RunState.START, COMPLETE: RunState.COMPLETE, FAIL: RunState.FAIL, ABORT: RunState.ABORT}
    facets: dict[str, Any] = {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=event.parent_run_id),
            job=parent_run.Job(namespace=job_namespace, name=event.parent_job_name),
        )
    }
    if event.message and event.event_type in (FAIL, ABORT):
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=event.message, programmingLanguage="shell"
        )

    def subset(partition: str | None) -> PartitionSubsetCondition | None:
        if partition is None:
            return None
        return PartitionSubsetCondition(partitions=[Partition(dimensions={}, identifier=partition)])

    inputs = []
    for index, found in enumerate(event.inputs):
        namespace, name = dataset_name(found.uri)
        input_facets: dict[str, Any] = {}
        if (condition := subset(found.partition)) is not None:
            input_facets["subset"] = InputSubsetInputDatasetFacet(inputCondition=condition)
        if event.check is not None and index == 0:  # a check's dataset comes first
            severity, passed = event.check
            input_facets["dataQualityAssertions"] = (
                data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                    assertions=[
                        data_quality_assertions_dataset.Assertion(
                            assertion=event.task, success=passed, severity=severity.value.lower()
                        )
                    ]
                )
            )
        inputs.append(InputDataset(namespace=namespace, name=name, inputFacets=input_facets))
    outputs = []
    for found in event.outputs:
        namespace, name = dataset_name(found.uri)
        output_facets: dict[str, Any] = {}
        if (condition := subset(found.partition)) is not None:
            output_facets["subset"] = OutputSubsetOutputDatasetFacet(outputCondition=condition)
        outputs.append(OutputDataset(namespace=namespace, name=name, outputFacets=output_facets))
    return RunEvent(
        eventType=states[event.event_type],
        eventTime=event.time,
        run=Run(runId=event.run_id, facets=facets),
        job=Job(namespace=job_namespace, name=event.job_name),
        producer=PRODUCER,
        inputs=inputs,
        outputs=outputs,
    )
