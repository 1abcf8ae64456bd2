"""Data flow, end to end: the real operator on the dev cluster (whose kubelet maps claims to local folders).

A workspace shared by three tasks, a retry whose reused task's file is still there, results across a
diamond, a dynamic forEach of 200 items with an instance retried, an operator restart while a fan-out
expands, and every results limit failing the task that passes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from operator_kit import Api, phase_of, tasks_of, when
from test_failure_scenarios import finished, pipeline, sh

from baton import GROUP, VERSION
from baton.api.codec import load_run_status
from baton.devcluster.cluster import DevCluster
from baton.kube.labels import INSTANCE, RUN, TASK
from support import wait_for

StartOperator = Callable[[str], Any]
CLAIM = {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}}}
PYTHON = "python3"


def results(**values: Any) -> str:
    """A shell command writing ``values`` as the task's results."""
    return f"printf '%s' '{json.dumps(values)}' > $BATON_RESULTS"


def claims(devcluster: DevCluster, namespace: str) -> dict[str, dict[str, Any]]:
    rt = devcluster.registry.storage("", "persistentvolumeclaims")
    return {c["metadata"]["name"]: c for c in devcluster.sync(devcluster.store.list, rt, namespace)}


def run_jobs(api: Api, run: str) -> list[dict[str, Any]]:
    return [j for j in api.jobs() if j["metadata"]["labels"][RUN] == run]


def test_a_workspace_shared_by_three_tasks(
    api: Api, start_operator: StartOperator, devcluster: DevCluster
) -> None:
    start_operator(api.namespace)
    mount = [{"name": "data"}]
    api.apply(
        pipeline(
            "shared",
            [
                sh("write", "echo one > $(workspaces.data.path)/log", workspaces=mount),
                sh("append", "echo two >> $(workspaces.data.path)/log", "write", workspaces=mount),
                sh(
                    "read",
                    'test "$(cat $(workspaces.data.path)/log | tr "\\n" " ")" = "one two " && '
                    + results(lines=2),
                    "append",
                    workspaces=[{"name": "data", "readOnly": True}],
                    results=[{"name": "lines"}],
                ),
            ],
            workspaces=[{"name": "data", "volumeClaimTemplate": CLAIM}],
        )
    )
    name = api.start_run("shared")
    run = finished(api, name)
    assert phase_of(run) == "Succeeded", run["status"]
    assert tasks_of(run)["read"]["results"] == {"lines": "2"}
    claim = claims(devcluster, api.namespace)[f"{name}-data"]
    assert claim["status"]["phase"] == "Bound"
    assert claim["metadata"]["labels"][RUN] == name
    owner = claim["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("PipelineRun", name, True)


def test_a_retry_mounts_the_claim_of_the_run_it_retries(
    api: Api, start_operator: StartOperator, devcluster: DevCluster, tmp_path: Path
) -> None:
    start_operator(api.namespace)
    flag = tmp_path / "fixed"
    mount = [{"name": "data"}]
    api.apply(
        pipeline(
            "resumable",
            [
                sh("produce", "echo rows > $(workspaces.data.path)/out.csv", workspaces=mount),
                sh(
                    "consume",
                    f"test -f {flag} && grep -q rows $(workspaces.data.path)/out.csv",
                    "produce",
                    workspaces=mount,
                ),
            ],
            workspaces=[{"name": "data", "volumeClaimTemplate": CLAIM}],
        )
    )
    old = api.start_run("resumable")
    assert phase_of(finished(api, old)) == "Failed"
    flag.write_text("")
    retry = api.apply(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "PipelineRun",
            "metadata": {"generateName": "resumable-retry-"},
            "spec": {"retryOf": old},
        }
    )["metadata"]["name"]
    run = finished(api, retry)
    assert phase_of(run) == "Succeeded", run["status"]
    assert tasks_of(run)["produce"]["reusedFrom"] == old  # not run again: its file was still there
    assert run["status"]["workspaces"][0]["claimName"] == f"{old}-data"
    assert {j["metadata"]["labels"][TASK] for j in run_jobs(api, retry)} == {"consume"}
    owners = claims(devcluster, api.namespace)[f"{old}-data"]["metadata"]["ownerReferences"]
    assert [(o["name"], o["controller"]) for o in owners] == [(old, True), (retry, False)]
    assert f"{retry}-data" not in claims(devcluster, api.namespace)


def test_a_claim_that_cannot_be_created_fails_the_run_with_the_reason(
    api: Api, start_operator: StartOperator, devcluster: DevCluster
) -> None:
    start_operator(api.namespace)
    api.apply(
        pipeline(
            "claimed",
            [sh("a", "true", workspaces=[{"name": "data"}])],
            workspaces=[{"name": "data", "volumeClaimTemplate": CLAIM}],
        )
    )
    api.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "claimed-taken-data"},
            "spec": CLAIM["spec"],
        }
    )
    run = api.apply(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "PipelineRun",
            "metadata": {"name": "claimed-taken"},
            "spec": {"pipelineRef": {"name": "claimed"}},
        }
    )
    done = finished(api, run["metadata"]["name"])
    condition = next(c for c in done["status"]["conditions"] if c["type"] == "Succeeded")
    assert (done["status"]["phase"], condition["reason"]) == ("Failed", "WorkspaceClaimFailed")
    assert condition["message"] == (
        'workspace claim "claimed-taken-data": AlreadyExists: a claim of that name exists and does not '
        'belong '
        "to this run"
    )
    assert run_jobs(api, "claimed-taken") == []


def test_results_across_a_diamond(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    api.apply(
        pipeline(
            "diamond",
            [
                sh("a", results(n=3, name="west"), results=[{"name": "n"}, {"name": "name"}]),
                sh(
                    "b",
                    'test "$(tasks.a.results.n)" = 3 && ' + results(double=6),
                    results=[{"name": "double"}],
                ),
                sh(
                    "c",
                    'test "$(tasks.a.results.name)" = west && ' + results(tag="w"),
                    results=[{"name": "tag"}],
                ),
                {
                    "name": "d",
                    "command": ["sh", "-c", 'test "$1$2" = 6w && ' + results(joined="6w"), "d"],
                    "args": ["$(tasks.b.results.double)", "$(tasks.c.results.tag)"],
                    "results": [{"name": "joined"}],
                },
            ],
            results=[{"name": "joined", "value": "$(tasks.d.results.joined) from $(tasks.a.results.name)"}],
        )
    )
    name = api.start_run("diamond")
    run = finished(api, name)
    assert phase_of(run) == "Succeeded", run["status"]
    tasks = tasks_of(run)
    assert tasks["a"]["completionTime"] <= tasks["b"]["startTime"]
    assert tasks["c"]["completionTime"] <= tasks["d"]["startTime"]
    assert run["status"]["results"] == [{"name": "joined", "value": "6w from west"}]


def test_a_dynamic_fan_out_of_200_items_with_an_instance_retried(
    api: Api, start_operator: StartOperator
) -> None:
    start_operator(api.namespace)
    api.apply(
        pipeline(
            "wide",
            [
                {
                    "name": "list",
                    "command": [
                        PYTHON,
                        "-c",
                        "import json, os; json.dump({'items': list(range(200))}, "
                        "open(os.environ['BATON_RESULTS'], 'w'))",
                    ],
                    "results": [{"name": "items"}],
                },
                sh(
                    "square",
                    '[ "$(item)" != 17 ] || [ "$BATON_ATTEMPT" -ge 2 ] || exit 1; '
                    + "printf '{\"sq\": %d}' $(( $(item) * $(item) )) > $BATON_RESULTS",
                    forEach={"from": "$(tasks.list.results.items)"},
                    results=[{"name": "sq"}],
                    retries={"limit": 1, "backoff": {"initialSeconds": 0.2}},
                ),
                {
                    "name": "sum",
                    "command": [
                        PYTHON,
                        "-c",
                        "import json, sys; assert sum(json.loads(sys.argv[1])) == 2646700",
                    ],
                    "args": ["$(tasks.square.results.sq)"],
                },
            ],
            parallelism=40,
        )
    )
    name = api.start_run("wide")
    run = finished(api, name, timeout=180)
    assert phase_of(run) == "Succeeded", run["status"]
    square = tasks_of(run)["square"]
    assert square["items"] == 200 and run["status"]["progress"] == "202/202"
    retried = [i for i in square["instances"] if i.get("attempts", 1) > 1]
    assert [(i["name"], i["attempts"]) for i in retried] == [("square[17]", 2)]
    instances = load_run_status(run["status"]).tasks[1].instances
    assert instances[17].results == {"sq": "289"}  # results keep an instance's entry
    created = [
        r.name
        for r in api.cluster.sync(api.cluster.audit.transitions, "Job")
        if r.namespace == api.namespace and r.transition == "Created"
    ]
    assert len(created) == len(set(created)) == 1 + 201 + 1  # instance 17 twice, every Job once
    # A wide forEach (100 instances or more): its succeeded instances' Jobs go once the status says so.
    wait_for(lambda: len(run_jobs(api, name)) == 2, timeout=60, message="the instances' Jobs to be deleted")


def test_an_operator_restart_while_a_fan_out_expands(api: Api, start_operator: StartOperator) -> None:
    operator = start_operator(api.namespace)
    api.apply(
        pipeline(
            "restartable",
            [
                sh("list", results(items=list(range(30))), results=[{"name": "items"}]),
                sh("work", "sleep 0.3", forEach={"from": "$(tasks.list.results.items)"}),
            ],
            parallelism=6,
        )
    )
    name = api.start_run("restartable")
    wait_for(
        lambda: when(tasks_of(api.run(name)).get("work") or {}, lambda t: t.get("items")),
        message="the fan-out to expand",
    )
    operator.stop()
    start_operator(api.namespace)
    run = finished(api, name, timeout=120)
    assert phase_of(run) == "Succeeded", run["status"]
    jobs = run_jobs(api, name)
    instances = sorted(
        int(j["metadata"]["labels"][INSTANCE]) for j in jobs if INSTANCE in j["metadata"]["labels"]
    )
    assert instances == list(range(30))  # one Job per instance: none lost, none created twice


def test_results_limits_fail_the_task_that_passes_them(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    blob = "y" * 3500
    api.apply(
        pipeline(
            "limits",
            [
                sh(
                    "oversized",
                    "printf '{\"r\": \"%s\"}' $(printf 'x%.0s' $(seq 5000)) > $BATON_RESULTS",
                    results=[{"name": "r"}],
                ),
                sh("not-json", "echo 'rows=3' > $BATON_RESULTS", results=[{"name": "r"}]),
                sh("missing", results(other=1), results=[{"name": "r"}]),
                sh("parts", results(r=blob), forEach={"items": list(range(20))}, results=[{"name": "r"}]),
                {
                    "name": "joined",
                    "command": ["true", "$(tasks.parts.results.r)$(tasks.parts.results.r)"],
                },
            ],
        )
    )
    name = api.start_run("limits")
    run = finished(api, name, timeout=60)
    tasks = tasks_of(run)
    assert {n: (t["phase"], t.get("reason")) for n, t in tasks.items()} == {
        "oversized": ("Failed", "InvalidResults"),
        "not-json": ("Failed", "InvalidResults"),
        "missing": ("Failed", "InvalidResults"),
        "parts": ("Succeeded", None),
        "joined": ("Failed", "ResultsTooLarge"),
    }
    assert "results are limited to 4096 bytes" in tasks["oversized"]["message"]
    assert "results are not valid JSON" in tasks["not-json"]["message"]
    assert 'undeclared result(s) "other"' in tasks["missing"]["message"]
    assert "the aggregated results of parts are" in tasks["joined"]["message"]
    assert "pass them through a workspace" in tasks["joined"]["message"]
    assert all(len(t.get("message") or "") < 1100 for t in tasks.values())
