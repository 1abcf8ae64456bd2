"""The shell around ``baton.core.crd_compat``: read the installed CRDs, hold the operator while they differ.

At start the operator reconciles nothing until the first look says the CRDs are the ones it was built
with. While they differ it looks again every `retry` seconds (so `baton crds apply` or a Helm upgrade
lets it go on without a restart); once they match, every `recheck` seconds (a sync of an older chart can
put older CRDs back under a running operator). Three GETs a look, narrowed by RBAC to the three names.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from baton import __version__
from baton.api.crdgen import built_fingerprints
from baton.core.crd_compat import CrdVerdict, InstalledCrd, crd_verdict, unreadable
from baton.core.events import Event, EventType

from . import metrics
from .client import ApiFailure, KubeClient
from .recorder import EventRecorder

log = logging.getLogger(__name__)

CRDS_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
RETRY = 10.0
RECHECK = 300.0


class CrdGate:
    def __init__(
        self,
        client: KubeClient,
        recorder: EventRecorder,
        *,
        on_compatible: Callable[[], None],
        on_incompatible: Callable[[], None],
        expected: Mapping[str, str] | None = None,
        retry: float | None = None,
        recheck: float | None = None,
    ) -> None:
        self.client = client
        self.recorder = recorder
        self.on_compatible = on_compatible
        self.on_incompatible = on_incompatible
        self.expected = dict(expected) if expected is not None else built_fingerprints()
        """CRD name → fingerprint; tests stand in for an older build by passing another."""
        self.retry = RETRY if retry is None else retry
        self.recheck = RECHECK if recheck is None else recheck
        self.compatible: bool | None = None
        """None until the first look."""
        self.verdict: CrdVerdict | None = None

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except ApiFailure as failure:
                if failure.code in (401, 403):  # an answer: this operator may not read them
                    self._apply(unreadable(f"{failure.code} {failure.reason}", list(self.expected)), {})
                else:  # no answer is no verdict: keep the last one, look again soon
                    log.warning("could not read Baton's CRDs: %s", failure)
                await asyncio.sleep(self.retry)
                continue
            except Exception:  # the client's own errors and the like: this loop must outlive them
                log.exception("could not read Baton's CRDs")
                await asyncio.sleep(self.retry)
                continue
            await asyncio.sleep(self.recheck if self.compatible else self.retry)

    async def check(self) -> CrdVerdict:
        installed = {name: await self._read(name) for name in self.expected}
        verdict = crd_verdict(self.expected, {n: c and c[0] for n, c in installed.items()}, __version__)
        self._apply(verdict, installed)
        return verdict

    async def _read(self, name: str) -> tuple[InstalledCrd, dict[str, Any]] | None:
        try:
            crd = await self.client.get(f"{CRDS_PATH}/{name}", resource="customresourcedefinitions")
        except ApiFailure as failure:
            if failure.code == 404:
                return None
            raise
        return InstalledCrd.of(crd.get("metadata", {}).get("annotations")), crd

    def _apply(self, verdict: CrdVerdict, installed: Mapping[str, Any]) -> None:
        was, self.compatible, self.verdict = self.compatible, verdict.compatible, verdict
        metrics.CRDS_COMPATIBLE.set(1 if verdict.compatible else 0)
        if verdict.compatible:
            if was is False:
                log.info("the installed Baton CRDs are now the ones this operator was built with: acting")
            if was is not True:
                self.on_compatible()
            return
        if was is not False:  # said once per change, not at every look
            log.error("%s", verdict.message)
            self.on_incompatible()
            self._announce(verdict, installed)

    def _announce(self, verdict: CrdVerdict, installed: Mapping[str, Any]) -> None:
        involved = _own_pod() or next(
            (dict(installed[n][1]) for n in verdict.mismatched if installed.get(n) is not None), None
        )
        if involved is None:
            return
        event = Event(EventType.WARNING, "CRDsOutOfDate", verdict.message)
        # Held until the next one: the loop keeps only weak references to tasks.
        self._posting = asyncio.get_running_loop().create_task(self.recorder.record(involved, [event]))


def _own_pod() -> dict[str, Any] | None:
    """The operator's Pod as an Event's involved object, from the downward API the chart sets."""
    name, namespace = os.environ.get("POD_NAME"), os.environ.get("POD_NAMESPACE")
    if not (name and namespace):
        return None
    meta = {"name": name, "namespace": namespace, "uid": os.environ.get("POD_UID", "")}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta}
