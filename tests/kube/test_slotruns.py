"""Runs the operator creates on a Pipeline's behalf (schedules, triggers, backfills) never copy the labels
and annotations a GitOps tool tracks its own objects by: Argo CD would prune such a run as a stray, Flux
would garbage-collect it. Nor are they owned by the Pipeline: deleting it keeps them."""

from __future__ import annotations

from datetime import UTC, datetime

from baton.kube.slotruns import created_run, run_body

GITOPS = {
    "labels": {
        "app.kubernetes.io/instance": "etl",
        "kustomize.toolkit.fluxcd.io/name": "pipelines",
        "helm.toolkit.fluxcd.io/name": "etl",
    },
    "annotations": {
        "argocd.argoproj.io/tracking-id": "etl:baton.dev/Pipeline:data/nightly",
        "kustomize.toolkit.fluxcd.io/checksum": "abc",
    },
}
PIPELINE = {"metadata": {"name": "nightly", "namespace": "data", "uid": "u-1", **GITOPS}}


def test_runs_created_for_a_pipeline_carry_only_batons_labels() -> None:
    for run in (
        created_run(PIPELINE, "nightly-x", {}, {"baton.dev/triggered-by": "up/1"}, "trigger"),
        run_body(PIPELINE, "nightly-2026", datetime(2026, 12, 6, tzinfo=UTC), {}),
    ):
        meta = run["metadata"]
        assert set(meta["labels"]) <= {"baton.dev/pipeline", "baton.dev/trigger"}, meta["labels"]
        tracked = [k for k in meta.get("annotations") or {} if not k.startswith("baton.dev/")]
        assert not tracked, tracked
        assert "ownerReferences" not in meta  # history: not garbage-collected with its Pipeline
