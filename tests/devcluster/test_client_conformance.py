"""The official `kubernetes` Python client against the dev cluster: typed APIs, custom objects, watches,
the dynamic client and the informer, with the errors clients branch on (404, 409, 410, 422).

The typed client validates what it deserializes (required fields, types), so reading every kind back
through it also checks that the dev cluster's objects are well-formed.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from conformance_kit import name_of, python_job, unique, widget, widget_crd
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from baton.devcluster.cluster import DevCluster
from support import wait_for

GROUP = "client.baton.dev"


def body_of(error: ApiException) -> dict[str, Any]:
    return dict(json.loads(error.body))


@pytest.fixture(scope="module")
def crd(k8s_client: Any) -> str:
    ext = client.ApiextensionsV1Api(k8s_client)
    name = f"widgets.{GROUP}"
    try:
        created = ext.create_custom_resource_definition(widget_crd(GROUP))
        assert created.metadata.name == name and created.metadata.uid
    except ApiException as error:
        assert error.status == 409

    def established() -> bool:
        crd = ext.read_custom_resource_definition(name)
        return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or ())

    wait_for(established, 30, message="the CRD to be Established")
    return name


@pytest.fixture
def custom(k8s_client: Any) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(k8s_client)


@pytest.fixture
def core(k8s_client: Any) -> client.CoreV1Api:
    return client.CoreV1Api(k8s_client)


# -- custom objects --------------------------------------------------------------------------------


def test_custom_object_crud_and_status(custom: client.CustomObjectsApi, namespace: str, crd: str) -> None:
    args = (GROUP, "v1", namespace, "widgets")
    created = custom.create_namespaced_custom_object(*args, widget("w", GROUP, size=2))
    assert created["metadata"]["generation"] == 1 and created["spec"]["color"] == "red"
    got = custom.get_namespaced_custom_object(*args, "w")
    assert got == created

    patched = custom.patch_namespaced_custom_object(*args, "w", {"spec": {"size": 3}})
    assert patched["spec"]["size"] == 3 and patched["metadata"]["generation"] == 2
    with_status = custom.patch_namespaced_custom_object_status(*args, "w", {"status": {"phase": "Ready"}})
    assert with_status["status"] == {"phase": "Ready"} and with_status["metadata"]["generation"] == 2
    assert custom.get_namespaced_custom_object_status(*args, "w")["status"]["phase"] == "Ready"

    with_status["spec"]["size"] = 4
    replaced = custom.replace_namespaced_custom_object(*args, "w", with_status)
    assert replaced["spec"]["size"] == 4 and replaced["status"] == {"phase": "Ready"}

    json_patched = custom.patch_namespaced_custom_object(
        *args,
        "w",
        [{"op": "replace", "path": "/spec/size", "value": 5}],
        _content_type="application/json-patch+json",
    )
    assert json_patched["spec"]["size"] == 5

    listed = custom.list_namespaced_custom_object(*args)
    assert listed["kind"] == "WidgetList" and [name_of(i) for i in listed["items"]] == ["w"]
    everywhere = custom.list_cluster_custom_object(
        GROUP, "v1", "widgets", field_selector=f"metadata.namespace={namespace}"
    )
    assert [name_of(i) for i in everywhere["items"]] == ["w"]

    deleted = custom.delete_namespaced_custom_object(*args, "w")
    assert deleted["metadata"]["name"] == "w"
    with pytest.raises(ApiException) as missing:
        custom.get_namespaced_custom_object(*args, "w")
    assert missing.value.status == 404 and body_of(missing.value)["reason"] == "NotFound"


def test_client_sees_409_and_422(custom: client.CustomObjectsApi, namespace: str, crd: str) -> None:
    args = (GROUP, "v1", namespace, "widgets")
    first = custom.create_namespaced_custom_object(*args, widget("c", GROUP))
    with pytest.raises(ApiException) as exists:
        custom.create_namespaced_custom_object(*args, widget("c", GROUP))
    assert exists.value.status == 409 and body_of(exists.value)["reason"] == "AlreadyExists"

    custom.patch_namespaced_custom_object(*args, "c", {"spec": {"size": 9}})
    first["spec"]["size"] = 10
    with pytest.raises(ApiException) as conflict:
        custom.replace_namespaced_custom_object(*args, "c", first)
    assert conflict.value.status == 409
    assert body_of(conflict.value)["reason"] == "Conflict"
    assert "the object has been modified" in body_of(conflict.value)["message"]

    with pytest.raises(ApiException) as invalid:
        custom.create_namespaced_custom_object(*args, widget("i", GROUP, size=1000, tags=[]))
    assert invalid.value.status == 422
    status = body_of(invalid.value)
    assert status["reason"] == "Invalid"
    assert {c["field"] for c in status["details"]["causes"]} == {"spec.size", "spec.tags"}
    assert status["details"]["kind"] == "Widget" and status["details"]["name"] == "i"


# -- typed core and batch APIs ---------------------------------------------------------------------


def test_configmaps_paging_and_selectors(core: client.CoreV1Api, namespace: str) -> None:
    for i in range(5):
        core.create_namespaced_config_map(
            namespace,
            client.V1ConfigMap(
                metadata=client.V1ObjectMeta(
                    name=f"cm-{i}", labels={"parity": "even" if i % 2 == 0 else "odd"}
                ),
                data={"i": str(i)},
            ),
        )
    names: list[str] = []
    token = None
    while True:
        page = core.list_namespaced_config_map(namespace, limit=2, _continue=token)
        names += [cm.metadata.name for cm in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"cm-{i}" for i in range(5)]
    odd = core.list_namespaced_config_map(namespace, label_selector="parity=odd")
    assert [cm.metadata.name for cm in odd.items] == ["cm-1", "cm-3"]
    set_based = core.list_namespaced_config_map(
        namespace, label_selector="parity in (even),parity notin (odd)"
    )
    assert [cm.metadata.name for cm in set_based.items] == ["cm-0", "cm-2", "cm-4"]
    by_name = core.list_config_map_for_all_namespaces(
        field_selector=f"metadata.name=cm-2,metadata.namespace={namespace}"
    )
    assert [cm.metadata.name for cm in by_name.items] == ["cm-2"]
    core.delete_collection_namespaced_config_map(namespace, label_selector="parity=even")
    assert [cm.metadata.name for cm in core.list_namespaced_config_map(namespace).items] == ["cm-1", "cm-3"]


def test_secrets_service_accounts_leases_and_events(
    k8s_client: Any, core: client.CoreV1Api, namespace: str
) -> None:
    secret = core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="s"), string_data={"token": "abc"})
    )
    assert secret.type == "Opaque" and secret.data == {"token": "YWJj"}
    account = core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="runner"))
    )
    assert account.metadata.uid

    leases = client.CoordinationV1Api(k8s_client)
    lease = leases.create_namespaced_lease(
        namespace,
        client.V1Lease(
            metadata=client.V1ObjectMeta(name="leader"),
            spec=client.V1LeaseSpec(holder_identity="me", lease_duration_seconds=15),
        ),
    )
    lease.spec.holder_identity = "you"
    assert leases.replace_namespaced_lease("leader", namespace, lease).spec.holder_identity == "you"
    with pytest.raises(ApiException) as stale:
        leases.replace_namespaced_lease("leader", namespace, lease)
    assert stale.value.status == 409

    core.create_namespaced_event(
        namespace,
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(name="e1"),
            reason="Checked",
            message="checked by the client",
            type="Normal",
            involved_object=client.V1ObjectReference(
                kind="ServiceAccount", name="runner", namespace=namespace
            ),
        ),
    )
    events = core.list_namespaced_event(namespace, field_selector="involvedObject.name=runner")
    assert [(e.reason, e.message) for e in events.items] == [("Checked", "checked by the client")]
    modern = client.EventsV1Api(k8s_client)
    from datetime import UTC, datetime

    modern.create_namespaced_event(
        namespace,
        client.EventsV1Event(
            metadata=client.V1ObjectMeta(name="e2"),
            event_time=datetime.now(UTC),
            reason="Checked",
            action="Check",
            reporting_controller="conformance",
            reporting_instance="conformance-1",
            type="Normal",
            regarding=client.V1ObjectReference(kind="ServiceAccount", name="runner", namespace=namespace),
        ),
    )
    assert [e.metadata.name for e in modern.list_namespaced_event(namespace).items] == ["e2"]


def test_jobs_pods_logs_and_foreground_deletion(
    k8s_client: Any, core: client.CoreV1Api, namespace: str
) -> None:
    batch = client.BatchV1Api(k8s_client)
    job = batch.create_namespaced_job(
        namespace, python_job("count", "for i in range(3): print(i)", python=sys.executable)
    )
    assert job.spec.backoff_limit == 0 and job.spec.selector.match_labels

    done = threading.Event()
    seen: list[str] = []

    w = watch.Watch()
    for event in w.stream(
        batch.list_namespaced_job, namespace, field_selector="metadata.name=count", timeout_seconds=120
    ):
        conditions = {c.type: c.status for c in event["object"].status.conditions or ()}
        seen.append(event["type"])
        if conditions.get("Complete") == "True":
            done.set()
            w.stop()
    assert done.is_set(), seen
    finished = batch.read_namespaced_job_status("count", namespace)
    assert finished.status.succeeded == 1 and finished.status.completion_time is not None

    pods = core.list_namespaced_pod(namespace, label_selector="job-name=count").items
    assert len(pods) == 1
    pod = pods[0]
    assert pod.status.phase == "Succeeded"
    assert (
        pod.metadata.owner_references[0].kind == "Job"
        and pod.metadata.owner_references[0].uid == job.metadata.uid
    )
    terminated = pod.status.container_statuses[0].state.terminated
    assert terminated.exit_code == 0 and terminated.reason == "Completed"
    assert core.read_namespaced_pod_log(pod.metadata.name, namespace) == "0\n1\n2\n"
    phase = core.list_namespaced_pod(namespace, field_selector="status.phase=Succeeded").items
    assert [p.metadata.name for p in phase] == [pod.metadata.name]

    batch.delete_namespaced_job(
        "count", namespace, body=client.V1DeleteOptions(propagation_policy="Foreground")
    )
    wait_for(lambda: not core.list_namespaced_pod(namespace).items, 30, message="the job's pods to go")
    wait_for(lambda: not batch.list_namespaced_job(namespace).items, 30, message="the job to go")


def test_every_kind_deserializes_with_client_side_validation(k8s_client: Any, core: client.CoreV1Api) -> None:
    """Lists everything through typed models, which reject missing required fields."""
    core.list_namespace()
    core.list_pod_for_all_namespaces()
    core.list_event_for_all_namespaces()
    core.list_config_map_for_all_namespaces()
    core.list_secret_for_all_namespaces()
    core.list_service_account_for_all_namespaces()
    client.BatchV1Api(k8s_client).list_job_for_all_namespaces()
    client.CoordinationV1Api(k8s_client).list_lease_for_all_namespaces()
    client.EventsV1Api(k8s_client).list_event_for_all_namespaces()
    client.ApiextensionsV1Api(k8s_client).list_custom_resource_definition()
    assert client.VersionApi(k8s_client).get_code().git_version.startswith("v1.37")


# -- watches ---------------------------------------------------------------------------------------


def test_watch_resume_and_selectors(custom: client.CustomObjectsApi, namespace: str, crd: str) -> None:
    args = (GROUP, "v1", namespace, "widgets")
    custom.create_namespaced_custom_object(*args, widget("a", GROUP))
    rv = custom.list_namespaced_custom_object(*args)["metadata"]["resourceVersion"]
    custom.create_namespaced_custom_object(
        *args, {**widget("b", GROUP), "metadata": {"name": "b", "labels": {"x": "1"}}}
    )
    custom.patch_namespaced_custom_object(*args, "a", {"spec": {"size": 6}})
    custom.delete_namespaced_custom_object(*args, "a")

    w = watch.Watch()
    events = []
    for event in w.stream(
        custom.list_namespaced_custom_object, *args, resource_version=rv, timeout_seconds=2
    ):
        events.append((event["type"], name_of(event["object"])))
    assert events == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "a")]
    assert int(w.resource_version) > int(rv)

    labelled = watch.Watch()
    selected = [
        name_of(e["object"])
        for e in labelled.stream(
            custom.list_namespaced_custom_object, *args, label_selector="x=1", timeout_seconds=1
        )
    ]
    assert selected == ["b"]


def test_watch_bookmarks_reach_the_client(core: client.CoreV1Api, namespace: str) -> None:
    w = watch.Watch()
    for event in w.stream(
        core.list_namespaced_config_map, namespace, allow_watch_bookmarks=True, timeout_seconds=30
    ):
        if event["type"] == "BOOKMARK":
            w.stop()
            break
    assert w.resource_version is not None and int(w.resource_version) > 0


@pytest.fixture(scope="module")
def small_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevCluster, Any]]:
    cluster = DevCluster(workdir=tmp_path_factory.mktemp("small-client"), history_limit=10)
    with cluster.running():
        from kubernetes import config

        path = cluster.write_kubeconfig(tmp_path_factory.mktemp("small-kube") / "config")
        api = config.new_client_from_config(config_file=str(path))
        yield cluster, api
        api.close()


def test_watch_from_an_expired_resource_version_raises_410(small_cluster: tuple[DevCluster, Any]) -> None:
    _, api = small_cluster
    core = client.CoreV1Api(api)
    cm = core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="old"))
    )
    for i in range(15):
        core.patch_namespaced_config_map("old", "default", {"data": {"i": str(i)}})
    with pytest.raises(ApiException) as expired:
        for _ in watch.Watch().stream(
            core.list_namespaced_config_map, "default", resource_version=cm.metadata.resource_version
        ):
            pass
    assert expired.value.status == 410
    assert "Expired: too old resource version" in str(expired.value.reason)


# -- dynamic client, server-side apply, informer ---------------------------------------------------


def test_dynamic_client_discovery_and_server_side_apply(
    k8s_client: Any, namespace: str, crd: str, tmp_path: Any
) -> None:
    dyn = DynamicClient(k8s_client, cache_file=str(tmp_path / "discovery.json"))
    widgets = dyn.resources.get(api_version=f"{GROUP}/v1", kind="Widget")
    assert widgets.namespaced and widgets.name == "widgets" and widgets.short_names == ["wdg"]
    applied = widgets.server_side_apply(
        body=widget("ssa", GROUP, size=7), namespace=namespace, field_manager="conformance"
    )
    assert applied.spec.size == 7
    again = widgets.server_side_apply(
        body=widget("ssa", GROUP, size=8), namespace=namespace, field_manager="conformance"
    )
    assert again.spec.size == 8 and again.metadata.generation == 2
    assert [i.metadata.name for i in widgets.get(namespace=namespace).items] == ["ssa"]
    pods = dyn.resources.get(api_version="v1", kind="Pod")
    assert "po" in pods.short_names
    jobs = dyn.resources.get(api_version="batch/v1", kind="Job")
    assert jobs.namespaced


def test_informer_keeps_a_cache_in_sync(core: client.CoreV1Api, namespace: str) -> None:
    from kubernetes.informer import SharedInformer

    core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="pre")))
    informer = SharedInformer(core.list_namespaced_config_map, namespace=namespace)
    deleted: list[str] = []
    informer.add_event_handler("DELETED", lambda obj: deleted.append(obj.metadata.name))
    informer.start()
    try:
        wait_for(lambda: informer.cache.list_keys() == [f"{namespace}/pre"], 30, message="the initial list")
        core.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="new"))
        )
        wait_for(
            lambda: sorted(informer.cache.list_keys()) == [f"{namespace}/new", f"{namespace}/pre"],
            30,
            message="the new object in the cache",
        )
        core.delete_namespaced_config_map("pre", namespace)
        wait_for(lambda: deleted == ["pre"], 30, message="the DELETED event")
    finally:
        informer.stop()


def test_namespace_deletion_through_the_client(core: client.CoreV1Api) -> None:
    ns = unique("cdoomed")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="inside")))
    # The apiserver answers with the Namespace itself, which the client (expecting a V1Status) leaves a dict.
    terminating = core.delete_namespace(ns)
    assert terminating["status"]["phase"] == "Terminating"

    def gone() -> bool:
        try:
            core.read_namespace(ns)
        except ApiException as error:
            return error.status == 404
        return False

    wait_for(gone, 30, message="the namespace to go")
    assert not core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={ns}").items


def test_pod_environment_working_dir_and_termination_message(
    k8s_client: Any, core: client.CoreV1Api, namespace: str, tmp_path: Any
) -> None:
    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings"), data={"color": "blue"})
    )
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name="creds"), string_data={"password": "hunter2"}),
    )
    code = (
        "import os\n"
        "for key in ('LITERAL', 'EXPANDED', 'POD', 'NS', 'COLOR', 'PASSWORD'): print(key, os.environ[key])\n"
        "print('cwd', os.getcwd())\n"
        "open('/dev/termination-log', 'w').write('all done')\n"
    )
    env = [
        client.V1EnvVar(name="LITERAL", value="plain"),
        client.V1EnvVar(name="EXPANDED", value="$(LITERAL)-expanded"),
        client.V1EnvVar(
            name="POD",
            value_from=client.V1EnvVarSource(
                field_ref=client.V1ObjectFieldSelector(field_path="metadata.name")
            ),
        ),
        client.V1EnvVar(
            name="NS",
            value_from=client.V1EnvVarSource(
                field_ref=client.V1ObjectFieldSelector(field_path="metadata.namespace")
            ),
        ),
        client.V1EnvVar(
            name="COLOR",
            value_from=client.V1EnvVarSource(
                config_map_key_ref=client.V1ConfigMapKeySelector(name="settings", key="color")
            ),
        ),
        client.V1EnvVar(
            name="PASSWORD",
            value_from=client.V1EnvVarSource(
                secret_key_ref=client.V1SecretKeySelector(name="creds", key="password")
            ),
        ),
    ]
    pod = core.create_namespaced_pod(
        namespace,
        client.V1Pod(
            metadata=client.V1ObjectMeta(name="envy"),
            spec=client.V1PodSpec(
                restart_policy="Never",
                containers=[
                    client.V1Container(
                        name="main",
                        image="python:3.12",
                        command=[sys.executable, "-c", code],
                        env=env,
                        working_dir=str(tmp_path),
                    )
                ],
            ),
        ),
    )
    assert pod.spec.node_name == "devcluster"

    def finished() -> Any:
        status = core.read_namespaced_pod_status("envy", namespace).status
        return status if status.phase in ("Succeeded", "Failed") else None

    status = wait_for(finished, 60, message="the pod to finish")
    assert status.phase == "Succeeded", status
    terminated = status.container_statuses[0].state.terminated
    assert terminated.exit_code == 0 and terminated.message == "all done"
    assert core.read_namespaced_pod_log("envy", namespace).splitlines() == [
        "LITERAL plain",
        "EXPANDED plain-expanded",
        "POD envy",
        f"NS {namespace}",
        "COLOR blue",
        "PASSWORD hunter2",
        f"cwd {tmp_path}",
    ]
