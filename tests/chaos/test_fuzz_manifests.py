"""Fuzzed Pipeline and PipelineRun manifests against the dev cluster (through the official client, so the
API server's own validation answers) and the operator: never a 500 (other than etcd's "request is too
large", which a real cluster returns too), a 422 naming a field or a Ready=False condition for every
invalid spec, the operator never crashing, and a valid run created afterwards still succeeding promptly."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chaos_kit import FULL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton import GROUP, VERSION
from baton.devcluster.cluster import DevCluster
from support import RunningOperator, own_cluster, wait_for

pytestmark = pytest.mark.timeout(900)
EXAMPLES = 1500 if FULL else 200
OUTCOMES: Counter[str] = Counter()

NAMES = st.sampled_from(
    ["a", "b", "c", "load", "extract", "report"] * 6 + ["Bad_Name", "", "x" * 70, "a.b", "-a"]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
WEIRD = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=5), SCALARS, max_size=2)
)


def _maybe(strategy: st.SearchStrategy[Any], one_in: int = 40) -> st.SearchStrategy[Any]:
    """Mostly the sensible value, one time in ``one_in`` anything at all."""
    return st.integers(1, one_in).flatmap(lambda n: WEIRD if n == 1 else strategy)


@st.composite
def tasks(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    name = draw(st.sampled_from(names))
    task: dict[str, Any] = {"name": draw(_maybe(st.just(name)))}
    if draw(st.booleans()):
        task["dependsOn"] = draw(_maybe(st.lists(st.sampled_from([*names, "nope"]), max_size=3)))
    task["command"] = draw(_maybe(st.just(["sh", "-c", "true"])))
    for key, value in (
        ("when", st.sampled_from(["allSucceeded", "allDone", "anyFailed", "always"])),
        ("timeoutSeconds", st.integers(min_value=1, max_value=3600)),
        ("retries", st.fixed_dictionaries({"limit": st.integers(min_value=0, max_value=3)})),
        ("forEach", st.fixed_dictionaries({"from": st.sampled_from(["$(params.items)", "[1,2]", "$(x"])})),
        ("results", st.lists(st.fixed_dictionaries({"name": NAMES}), max_size=2)),
        ("image", st.sampled_from(["busybox", "", "UPPER"])),
    ):
        if draw(st.integers(0, 5)) == 0:
            task[key] = draw(_maybe(value))
    if draw(st.integers(0, 10)) == 0:
        task[draw(st.text(min_size=1, max_size=8))] = draw(WEIRD)  # a field nobody declared
    return task


@st.composite
def pipelines(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    spec: dict[str, Any] = {
        "taskDefaults": draw(_maybe(st.just({"image": "busybox"}))),
        "tasks": draw(_maybe(st.lists(tasks(names), min_size=1, max_size=6), 30)),
    }
    for key, value in (
        ("finally", st.lists(tasks(["notify", "cleanup"]), max_size=2)),
        ("params", st.lists(st.fixed_dictionaries({"name": NAMES}), max_size=2)),
        ("timeoutSeconds", st.integers(min_value=1, max_value=10**5)),
        ("finallyTimeoutSeconds", st.integers(min_value=1, max_value=10**5)),
        ("parallelism", st.integers(min_value=1, max_value=10)),
        ("failurePolicy", st.sampled_from(["FailFast", "Continue"])),
    ):
        if draw(st.integers(0, 3)) == 0:
            spec[key] = draw(_maybe(value))
    return spec


@st.composite
def run_specs(draw: st.DrawFn, pipeline: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"pipelineRef": draw(_maybe(st.just({"name": pipeline}), 20))}
    for key, value in (
        ("params", st.dictionaries(st.sampled_from(["items", "n", "x"]), st.text(max_size=10), max_size=2)),
        ("timeoutSeconds", st.integers(min_value=1, max_value=10**5)),
        ("finallyTimeoutSeconds", st.integers(min_value=1, max_value=10**5)),
        ("cancel", st.fixed_dictionaries({"runFinally": st.booleans()})),
        ("retryOf", st.sampled_from(["nope", "x" * 300])),
    ):
        if draw(st.integers(0, 4)) == 0:
            spec[key] = draw(_maybe(value))
    return spec


@pytest.fixture(scope="module")
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DevCluster, str, Any, RunningOperator]]:
    from kubernetes import client, config

    workdir = tmp_path_factory.mktemp("fuzz")
    namespace = "fuzz"
    with own_cluster(workdir, namespace) as (cluster, kubeconfig), pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(kubeconfig))
        api_client = config.new_client_from_config(config_file=str(Path(kubeconfig)))
        operator = RunningOperator(namespace).start()
        try:
            yield cluster, namespace, client.CustomObjectsApi(api_client), operator
        finally:
            alive = operator._thread.is_alive()
            operator.stop()
            api_client.close()
            assert alive, "the operator crashed"


def _create(api: Any, namespace: str, plural: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from kubernetes.client.exceptions import ApiException

    try:
        return 201, api.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)
    except ApiException as error:
        return int(error.status), json.loads(error.body or "{}")


def _refused_well(code: int, answer: dict[str, Any]) -> None:
    message = str(answer.get("message", ""))
    assert code != 500 or "request is too large" in message, answer
    assert code in (201, 422) or (code == 500 and "too large" in message), (code, answer)
    if code == 422:
        causes = (answer.get("details") or {}).get("causes") or []
        assert causes and all(c.get("field") for c in causes), answer
        assert len(message) <= 4096, len(message)


SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@SETTINGS
@given(spec=pipelines(), run=st.data())
def test_fuzzed_manifests_get_a_422_with_a_field_or_a_condition(
    fuzzed: tuple[DevCluster, str, Any, RunningOperator], spec: dict[str, Any], run: st.DataObject
) -> None:
    cluster, namespace, api, _ = fuzzed
    name = f"p-{uuid.uuid4().hex[:8]}"
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Pipeline", "metadata": {"name": name}, "spec": spec}
    code, answer = _create(api, namespace, "pipelines", body)
    _refused_well(code, answer)
    OUTCOMES[f"pipeline {code}"] += 1
    if code != 201:
        return
    ready = wait_for(
        lambda: _condition(cluster, namespace, "pipelines", name, "Ready"),
        timeout=20,
        message=f"{name} Ready",
    )
    assert ready["status"] in ("True", "False") and len(ready.get("message", "")) <= 1024, ready
    run_body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineRun",
        "metadata": {"name": f"{name}-r"},
        "spec": run.draw(run_specs(name)),
    }
    code, answer = _create(api, namespace, "pipelineruns", run_body)
    _refused_well(code, answer)
    OUTCOMES[f"run {code}"] += 1
    OUTCOMES[f"Ready={ready['status']}"] += 1
    if code == 201:  # every run the API server took gets a status: started, waiting, or refused
        condition = wait_for(
            lambda: _condition(cluster, namespace, "pipelineruns", f"{name}-r", "Succeeded"),
            timeout=20,
            message=f"{name}-r's Succeeded condition",
        )
        assert len(condition.get("message", "")) <= 1024, condition


def test_a_valid_run_after_the_fuzzing_still_succeeds_promptly(
    fuzzed: tuple[DevCluster, str, Any, RunningOperator],
) -> None:
    cluster, namespace, api, _ = fuzzed
    print(f"\nfuzzed: {dict(OUTCOMES)}")
    # The fuzzing reached every branch: refusals by the API server, and Pipelines on both sides of Ready.
    assert OUTCOMES["pipeline 422"] and OUTCOMES["Ready=True"] and OUTCOMES["Ready=False"], OUTCOMES
    pipeline = {"taskDefaults": {"image": "busybox"}, "tasks": [{"name": "a", "command": ["true"]}]}
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Pipeline",
        "metadata": {"name": "sane"},
        "spec": pipeline,
    }
    assert _create(api, namespace, "pipelines", body)[0] == 201
    run = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "PipelineRun", "metadata": {"name": "sane-1"}}
    run["spec"] = {"pipelineRef": {"name": "sane"}}
    assert _create(api, namespace, "pipelineruns", run)[0] == 201
    done: Callable[[], Any] = lambda: _condition(cluster, namespace, "pipelineruns", "sane-1", "Succeeded")  # noqa: E731
    wait_for(lambda: (done() or {}).get("status") == "True", timeout=30, message="the sane run to succeed")


def _condition(
    cluster: DevCluster, namespace: str, plural: str, name: str, kind: str
) -> dict[str, Any] | None:
    found = cluster.sync(cluster.store.find, (GROUP, plural), namespace, name)
    conditions = ((found or {}).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), None)
