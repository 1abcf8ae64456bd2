"""Validation of data flow: workspaces, volumes, results and their references, forEach, Pod settings."""

from __future__ import annotations

from typing import Any

import pytest

from baton.core.dag import dag_of
from baton.core.validation import check_pipeline_spec

CLAIM = {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def pipeline(*tasks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"taskDefaults": {"image": "busybox"}, "tasks": list(tasks), **extra}


VALID = pipeline(
    {
        "name": "list",
        "results": [{"name": "regions"}],
        "workspaces": [{"name": "data"}],
        "command": ["sh", "-c", "ls $(workspaces.data.path) > $(results.path)"],
    },
    {
        "name": "extract",
        "forEach": {"from": "$(tasks.list.results.regions)"},
        "results": [{"name": "rows"}],
        "workspaces": [{"name": "data", "mountPath": "/data", "subPath": "raw"}],
        "volumes": [{"name": "creds", "secret": {"secretName": "s3"}}],
        "command": ["extract", "$(item)", "$(item.index)", "$(volumes.creds.path)/key"],
        "podAnnotations": {"sidecar.istio.io/inject": "false"},
        "podLabels": {"team": "sales"},
    },
    {"name": "load", "command": ["load", "$(tasks.extract.results.rows)"]},
    workspaces=[
        {"name": "data", "volumeClaimTemplate": CLAIM},
        {"name": "reference", "persistentVolumeClaim": {"claimName": "ref"}, "readOnly": True},
    ],
    results=[{"name": "rows", "value": "$(tasks.extract.results.rows)"}],
)


def test_a_full_data_flow_is_valid_and_its_result_references_are_edges() -> None:
    spec, errors = check_pipeline_spec(VALID)
    assert errors == []
    assert spec is not None
    dag = dag_of(spec)
    assert dag.parents == ((), (0,), (1,))


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        pytest.param(
            pipeline(
                {"name": "a", "workspaces": [{"name": "dat"}], "command": ["$(workspaces.data.path)"]},
                workspaces=[{"name": "data", "volumeClaimTemplate": CLAIM}],
            ),
            [
                'task "a" mounts unknown workspace "dat" (did you mean "data"?)',
                'task "a": command[0] reads the path of workspace "data", which the task does not mount '
                "(add it to its workspaces)",
            ],
            id="unknown-workspace",
        ),
        pytest.param(
            pipeline({"name": "a", "workspaces": [{"name": "x"}]}),
            ['task "a" mounts unknown workspace "x" (the pipeline declares no workspaces)'],
            id="no-workspaces",
        ),
        pytest.param(
            pipeline(
                {
                    "name": "a",
                    "volumes": [{"name": "v", "configMap": {"name": "c"}, "mountPath": "/x"}],
                    "workspaces": [{"name": "d", "mountPath": "/x/"}],
                },
                workspaces=[{"name": "d", "volumeClaimTemplate": CLAIM}],
            ),
            ['task "a": volume "v" and workspace "d" are both mounted at "/x"'],
            id="same-mount-path",
        ),
        pytest.param(
            pipeline(
                {"name": "a", "workspaces": [{"name": "d", "mountPath": "/a/../etc", "subPath": "../x"}]},
                workspaces=[{"name": "d", "volumeClaimTemplate": CLAIM}],
            ),
            [
                'task "a": workspace "d": mountPath "/a/../etc" must not contain ".."',
                'task "a": workspace "d": subPath "../x" must not contain ".."',
            ],
            id="dot-dot",
        ),
        pytest.param(
            pipeline(
                {"name": "a", "results": [{"name": "rows"}]},
                {
                    "name": "b",
                    "command": ["$(tasks.a.results.row)", "$(tasks.b.results.x)", "$(results.path)"],
                },
                {"name": "c", "command": ["$(tasks.zz.results.rows)", "$(tasks.a.results)"]},
            ),
            [
                'task "b": command[0] reads result "row" of task "a", which declares rows (did you mean '
                '"rows"?)',
                'task "b": command[1] reads its own result $(tasks.b.results.x); use the value where it is '
                "computed",
                'task "b": command[2] uses $(results.path) but the task declares no results',
                'task "c": command[0] reads a result of unknown task "zz"',
                'task "c": command[1] references unknown "$(tasks.a.results)" '
                "(a task offers $(tasks.NAME.status) and $(tasks.NAME.results.RESULT))",
            ],
            id="bad-result-references",
        ),
        pytest.param(
            pipeline(
                {"name": "a", "command": ["$(tasks.n.results.x)"]},
                **{"finally": [{"name": "n", "results": [{"name": "x"}]}]},
            ),
            [
                'task "a": command[0] reads a result of finally task "n", which runs after every other task '
                "has ended"
            ],
            id="result-of-a-finally-task",
        ),
        pytest.param(
            pipeline(
                {"name": "a", "results": [{"name": "x"}], "command": ["$(tasks.b.results.y)"]},
                {"name": "b", "results": [{"name": "y"}], "command": ["$(tasks.a.results.x)"]},
            ),
            ["dependency cycle: a -> b -> a"],
            id="result-cycle",
        ),
        pytest.param(
            pipeline(
                {"name": "a", "command": ["$(item)"], "forEach": {"from": "list: $(params.p)"}},
                {"name": "b", "forEach": {"from": "$(item)"}},
                {"name": "c", "forEach": {"items": [1, 2, 3], "maxItems": 2}},
                params=[{"name": "p"}],
            ),
            [
                'task "c": forEach.items has 3 items, more than its maxItems (2)',
                'task "a": forEach.from must be exactly one reference, $(params.NAME) or '
                "$(tasks.NAME.results.RESULT)",
                'task "b": forEach.from must be exactly one reference, $(params.NAME) or '
                "$(tasks.NAME.results.RESULT)",
            ],
            id="bad-for-each",
        ),
        pytest.param(
            pipeline({"name": "a", "command": ["$(item)", "$(volumes.v.path)"]}),
            [
                'task "a": command[0] uses $(item), which only forEach tasks have',
                'task "a": command[1] reads the path of unknown volume "v" (the task has no volumes)',
            ],
            id="item-and-volume-outside",
        ),
        pytest.param(
            pipeline(
                {"name": "a", "podLabels": {"baton.dev/run": "x", "bad key": "v", "ok": "no spaces"}},
                taskDefaults={"image": "x", "podLabels": {"app.kubernetes.io/managed-by": "me"}},
            ),
            [
                'task "a": podLabels may not set "baton.dev/run": Baton sets its own labels on every Pod',
                'task "a": podLabels key "bad key" is not a valid label key',
                'task "a": podLabels "ok": "no spaces" is not a valid label value (up to 63 of '
                "[A-Za-z0-9_.-])",
                'taskDefaults: podLabels may not set "app.kubernetes.io/managed-by": Baton sets its own '
                "labels "
                "on every Pod",
            ],
            id="reserved-labels",
        ),
        pytest.param(
            pipeline(
                {"name": "a"},
                taskDefaults={"image": "x", "env": [{"name": "D", "value": "$(workspaces.d.path)"}]},
            ),
            [
                'taskDefaults: env "D" reads $(workspaces.d.path), which depends on the task: set it on the '
                "tasks "
                "that use it"
            ],
            id="task-variables-in-defaults",
        ),
        pytest.param(
            pipeline(
                {
                    "name": "a",
                    "env": [{"name": "my.var", "value": "x"}],
                    "command": ["$(workspace.d.path)", "$(items)", "$(my.var)", "$(HOME)", "$$(task.x)"],
                }
            ),
            [
                'task "a": command[0] references "$(workspace.d.path)", which Baton does not know: did you '
                "mean "
                '"$(workspaces.d.path)"? (an unknown $(...) reaches the container as it is)',
                'task "a": command[1] references "$(items)", which Baton does not know: did you mean '
                '"$(item)"? '
                "(an unknown $(...) reaches the container as it is)",
            ],
            id="near-misses",
        ),
        pytest.param(
            pipeline({"name": "a", "forEach": {"items": [1]}}, params=[{"name": "p", "default": "eu,us"}])
            | {"tasks": [{"name": "a", "forEach": {"from": "$(params.p)"}}]},
            ['forEach of task "a": param "p" is not a JSON list: \'eu,us\' (the param\'s default)'],
            id="default-is-no-list",
        ),
        pytest.param(
            pipeline(
                {"name": "a"},
                results=[{"name": "r", "value": "$(tasks.a.results.r) $(params.x) $(run.status)"}],
            ),
            [
                'result "r": value references undeclared param "x"',
                'result "r": value reads result "r" of task "a", which declares no results',
                'result "r": value may only read $(tasks.NAME.results.RESULT) and params, not '
                '"$(run.status)"',
            ],
            id="pipeline-results",
        ),
    ],
)
def test_data_flow_errors(raw: dict[str, Any], errors: list[str]) -> None:
    assert check_pipeline_spec(raw)[1] == errors


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            pipeline({"name": "a", "volumes": [{"name": "h", "hostPath": {"path": "/etc"}}]}),
            'spec.tasks[0].volumes[0]: volume "h": hostPath is not allowed (the Pod Security Standard '
            '"restricted" forbids host paths); use a workspace with a persistentVolumeClaim instead',
        ),
        (
            pipeline({"name": "a"}, workspaces=[{"name": "d"}]),
            'spec.workspaces[0]: workspace "d" needs exactly one of volumeClaimTemplate and '
            "persistentVolumeClaim",
        ),
        (
            pipeline(
                {"name": "a"},
                workspaces=[
                    {
                        "name": "d",
                        "volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {}}},
                    }
                ],
            ),
            "spec.workspaces[0].volumeClaimTemplate.spec: resources.requests.storage is required: how large "
            "the "
            "volume is (e.g. 1Gi)",
        ),
        (
            pipeline({"name": "a", "runAsUser": 0}),
            "spec.tasks[0].runAsUser: must not be 0: root is not allowed (Pod Security Standard "
            '"restricted")',
        ),
        (
            pipeline({"name": "a", "forEach": {"items": ["se", False]}}),
            "spec.tasks[0].forEach.items[1]: got the boolean false: YAML reads unquoted "
            "yes/no/on/off/y/n/true/false "
            "as booleans; quote the value to make it a string",
        ),
        (
            pipeline({"name": "a", "forEach": {}}),
            "spec.tasks[0].forEach: forEach needs exactly one of items and from",
        ),
    ],
)
def test_schema_errors_say_what_to_do(raw: dict[str, Any], error: str) -> None:
    assert error in check_pipeline_spec(raw)[1]


def test_a_run_cannot_carry_more_than_128_kib_of_params() -> None:
    from baton.core.validation import run_errors

    spec, _ = check_pipeline_spec(pipeline({"name": "a"}, params=[{"name": "blob"}]))
    assert spec is not None
    assert run_errors(spec, {"blob": "x" * 1000}) == []
    (error,) = run_errors(spec, {"blob": "x" * 200_000})
    assert error == (
        "the run's params are 200004 bytes, more than 131072 (they are kept in the run's status): pass large "
        "inputs through a workspace or a ConfigMap"
    )
