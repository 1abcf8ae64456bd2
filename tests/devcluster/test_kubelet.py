"""The dev cluster's kubelet: Pods run as local processes, with the statuses, logs and kills of a real one."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from workload_kit import PY, Workload, alive, container_status, eventually, pid_of, pod_body, running

from baton.devcluster import errors

PRINT_ENV = [PY, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Workload]:
    async with running(tmp_path) as workload:
        yield workload


def pod(cluster: Workload, body: dict[str, Any]) -> str:
    return str(cluster.create("", "pods", "default", body)["metadata"]["name"])


async def test_a_pod_runs_its_command_and_succeeds(cluster: Workload) -> None:
    name = pod(cluster, pod_body("hello", [PY, "-c", "print('hi')"]))
    done = await cluster.pod_phase(name, "Succeeded")
    status = container_status(done)
    terminated = status["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert status["containerID"].startswith("devcluster://") and status["imageID"] == ""
    assert done["status"]["podIP"] == done["status"]["hostIP"] == "127.0.0.1"
    assert done["status"]["startTime"] and done["status"]["qosClass"] == "BestEffort"
    conditions = {c["type"]: c for c in done["status"]["conditions"]}
    assert conditions["Ready"]["reason"] == "PodCompleted" and conditions["PodScheduled"]["status"] == "True"
    assert "not pulled" in conditions["PodScheduled"]["message"]
    assert await cluster.log(name) == b"hi\n"
    with pytest.raises(
        errors.ApiError, match='previous terminated container "main" in pod "hello" not found'
    ):
        await cluster.log(name, previous=True)
    assert [t.transition for t in cluster.audit.transitions("Pod")] == ["Pending", "Running", "Succeeded"]
    reasons = [reason for reason, _ in cluster.events(name)]
    assert "Scheduled" in reasons and "Started" in reasons


async def test_exit_code_and_termination_message(cluster: Workload) -> None:
    script = "echo -n 'disk full' > /dev/termination-log; exit 3"
    name = pod(cluster, pod_body("fails", ["sh", "-c", script]))
    done = await cluster.pod_phase(name, "Failed")
    terminated = container_status(done)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"], terminated["message"]) == (3, "Error", "disk full")
    assert terminated["startedAt"] and terminated["finishedAt"]


async def test_termination_message_path_is_mapped_everywhere(cluster: Workload) -> None:
    # Were the path not mapped, writing into a directory that does not exist would fail the container.
    script = (
        "import os, sys; open(sys.argv[1], 'w').write(os.environ['OUT'] + ' ' + "
        "os.environ['BATON_TERMINATION_MESSAGE_PATH'])"
    )
    body = pod_body(
        "mapped",
        [PY, "-c", script, "/nonexistent-dir/message"],
        terminationMessagePath="/nonexistent-dir/message",
        env=[{"name": "OUT", "value": "/nonexistent-dir/message"}],
    )
    name = pod(cluster, body)
    done = await cluster.pod_phase(name, "Succeeded")
    local = str(cluster.kubelet.sandbox("default", name) / "main.termination-log")
    assert container_status(done)["state"]["terminated"]["message"] == f"{local} {local}"


async def test_fallback_to_logs_on_error(cluster: Workload) -> None:
    script = "for i in $(seq 1 100); do echo line $i; done; echo boom >&2; exit 2"
    name = pod(
        cluster, pod_body("fallback", ["sh", "-c", script], terminationMessagePolicy="FallbackToLogsOnError")
    )
    done = await cluster.pod_phase(name, "Failed")
    message = container_status(done)["state"]["terminated"]["message"]
    lines = message.splitlines()
    assert lines[-1] == "boom" and len(lines) == 80 and lines[0] == "line 22"


async def test_killed_by_a_signal_exits_with_128_plus_the_signal(cluster: Workload) -> None:
    # `$$` is Kubernetes' escape for `$`: the shell sees `kill -9 $$`.
    name = pod(cluster, pod_body("killed", ["sh", "-c", "kill -9 $$$$"]))
    done = await cluster.pod_phase(name, "Failed")
    assert container_status(done)["state"]["terminated"]["exitCode"] == 137


async def test_a_missing_executable_is_a_start_error(cluster: Workload) -> None:
    name = pod(cluster, pod_body("missing", ["no-such-binary-here", "x"]))
    done = await cluster.pod_phase(name, "Failed")
    terminated = container_status(done)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (128, "StartError")
    assert 'exec: "no-such-binary-here": executable file not found in $PATH' in terminated["message"]
    assert await cluster.log(name) == b""


async def test_a_container_without_command_cannot_run(cluster: Workload) -> None:
    body = pod_body("entrypoint", [])
    del body["spec"]["containers"][0]["command"]
    name = pod(cluster, body)
    done = await cluster.pod_phase(name, "Failed")
    terminated = container_status(done)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (128, "EntrypointUnavailable")
    assert "set command" in terminated["message"]


async def test_environment_literals_field_refs_config_maps_and_secrets(cluster: Workload) -> None:
    cluster.create(
        "", "configmaps", "default", {"metadata": {"name": "cfg"}, "data": {"mode": "fast", "k2": "v2"}}
    )
    cluster.create(
        "",
        "secrets",
        "default",
        {"metadata": {"name": "creds"}, "data": {"token": base64.b64encode(b"s3cret").decode()}},
    )
    env = [
        {"name": "GREETING", "value": "hello"},
        {"name": "MESSAGE", "value": "$(GREETING) world $$(GREETING) $(UNKNOWN)"},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "NOTE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['note']"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
        {"name": "MAYBE", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "x", "optional": True}}},
    ]
    env_from = [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}, {"secretRef": {"name": "creds"}}]
    name = pod(cluster, pod_body("env", PRINT_ENV, env=env, envFrom=env_from))
    done = await cluster.pod_phase(name, "Succeeded")
    seen = json.loads(await cluster.log(name))
    assert seen["MESSAGE"] == "hello world $(GREETING) $(UNKNOWN)"
    assert (seen["POD"], seen["NS"], seen["UID"]) == (name, "default", done["metadata"]["uid"])
    assert (seen["APP"], seen["NOTE"], seen["NODE"], seen["SA"], seen["IP"]) == (
        "demo",
        "n1",
        "devcluster",
        "default",
        "127.0.0.1",
    )
    assert (seen["MODE"], seen["TOKEN"], seen["CFG_mode"], seen["CFG_k2"], seen["token"]) == (
        "fast",
        "s3cret",
        "fast",
        "v2",
        "s3cret",
    )
    assert "MAYBE" not in seen
    sandbox = str(cluster.kubelet.sandbox("default", name))
    assert seen["HOME"] == sandbox and seen["HOSTNAME"] == name


async def test_command_args_are_expanded(cluster: Workload) -> None:
    body = pod_body(
        "expand", [PY, "-c"], args=["print('$(WORD)', '$$(WORD)')"], env=[{"name": "WORD", "value": "x1"}]
    )
    name = pod(cluster, body)
    await cluster.pod_phase(name, "Succeeded")
    assert await cluster.log(name) == b"x1 $(WORD)\n"


async def test_a_missing_config_map_waits_then_runs_once_created(cluster: Workload) -> None:
    env = [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "later", "key": "mode"}}}]
    name = pod(cluster, pod_body("waits", [PY, "-c", "import os; print(os.environ['MODE'])"], env=env))

    def config_error() -> dict[str, Any] | None:
        current = cluster.pod(name)
        waiting = (
            container_status(current)["state"].get("waiting")
            if current and current["status"].get("containerStatuses")
            else None
        )
        return waiting if waiting and waiting["reason"] == "CreateContainerConfigError" else None

    waiting = await eventually(config_error, what="CreateContainerConfigError")
    assert waiting["message"] == 'configmap "later" not found'
    assert cluster.phase(name) == "Pending"
    with pytest.raises(errors.ApiError, match="is waiting to start: CreateContainerConfigError"):
        await cluster.log(name)
    cluster.create("", "configmaps", "default", {"metadata": {"name": "later"}, "data": {"other": "x"}})

    def missing_key_error() -> dict[str, Any] | None:
        waiting = config_error()
        return waiting if waiting and "couldn't find key" in waiting["message"] else None

    missing_key = await eventually(missing_key_error, what="the missing key reported")
    assert missing_key["message"] == "couldn't find key mode in ConfigMap default/later"
    cm = cluster.store.get(cluster.rt("", "configmaps"), "default", "later")
    cluster.store.update(cluster.rt("", "configmaps"), "default", "later", {**cm, "data": {"mode": "ready"}})
    await cluster.pod_phase(name, "Succeeded")
    assert await cluster.log(name) == b"ready\n"


async def test_restart_on_failure_restarts_in_place(cluster: Workload) -> None:
    script = "test -f marker && echo second || { echo first; touch marker; exit 1; }"
    name = pod(cluster, pod_body("flaky", ["sh", "-c", script], restart="OnFailure"))
    done = await cluster.pod_phase(name, "Succeeded")
    status = container_status(done)
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert await cluster.log(name) == b"second\n"
    assert await cluster.log(name, previous=True) == b"first\n"


async def test_init_containers_run_before_the_containers(cluster: Workload) -> None:
    body = pod_body("init", ["cat", "seed"])
    body["spec"]["initContainers"] = [
        {"name": "one", "image": "busybox", "command": ["sh", "-c", "echo a > seed"]},
        {"name": "two", "image": "busybox", "command": ["sh", "-c", "echo b >> seed"]},
    ]
    name = pod(cluster, body)
    done = await cluster.pod_phase(name, "Succeeded")
    assert await cluster.log(name) == b"a\nb\n"
    assert [s["state"]["terminated"]["exitCode"] for s in done["status"]["initContainerStatuses"]] == [0, 0]


async def test_a_failed_init_container_fails_the_pod(cluster: Workload) -> None:
    body = pod_body("badinit", ["true"])
    body["spec"]["initContainers"] = [{"name": "one", "image": "busybox", "command": ["false"]}]
    name = pod(cluster, body)
    done = await cluster.pod_phase(name, "Failed")
    assert "waiting" in container_status(done)["state"]
    initialized = next(c for c in done["status"]["conditions"] if c["type"] == "Initialized")
    assert (
        initialized["status"] == "False"
        and initialized["message"] == "containers with incomplete status: [one]"
    )


async def test_several_containers_run_together_and_logs_need_a_container_name(cluster: Workload) -> None:
    name = pod(cluster, pod_body("pair", [PY, "-c", "print('left')"], [PY, "-c", "print('right')"]))
    await cluster.pod_phase(name, "Succeeded")
    with pytest.raises(errors.ApiError) as raised:
        await cluster.log(name)
    assert raised.value.code == 400
    assert raised.value.message == "a container name must be specified for pod pair, choose one of: [c0 c1]"
    assert await cluster.log(name, "c1") == b"right\n"
    with pytest.raises(errors.ApiError, match='container "nope" is not valid for pod "pair"'):
        await cluster.log(name, "nope")
    with pytest.raises(errors.ApiError, match='pods "ghost" not found'):
        await cluster.log("ghost")


async def test_log_follow_ends_with_the_container_and_tail_lines(cluster: Workload) -> None:
    script = "import sys, time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.05)"
    name = pod(cluster, pod_body("follow", [PY, "-c", script]))
    await cluster.pod_phase(name, "Running")
    assert await cluster.log(name, follow=True) == b"0\n1\n2\n3\n4\n"
    assert cluster.phase(name) == "Succeeded"
    assert await cluster.log(name, tail_lines=2) == b"3\n4\n"
    assert await cluster.log(name, since_seconds=3600) == b"0\n1\n2\n3\n4\n"
    assert await cluster.log(name, limit_bytes=3) == b"0\n1"
    stamped = (await cluster.log(name, timestamps=True, tail_lines=1)).decode()
    stamp, _, text = stamped.partition(" ")
    assert text == "4\n" and stamp.endswith("Z") and stamp[4] == "-" and "T" in stamp


async def test_working_dir_existing_or_stand_in(cluster: Workload, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    first = pod(cluster, pod_body("wd1", [PY, "-c", "import os; print(os.getcwd())"], workingDir=str(real)))
    second = pod(
        cluster, pod_body("wd2", [PY, "-c", "import os; print(os.getcwd())"], workingDir="/app/data")
    )
    await cluster.pod_phase(first, "Succeeded")
    await cluster.pod_phase(second, "Succeeded")
    assert (await cluster.log(first)).decode().strip() == str(real)
    stand_in = cluster.kubelet.sandbox("default", second) / "rootfs" / "app" / "data"
    assert (await cluster.log(second)).decode().strip() == str(stand_in)


async def test_active_deadline_kills_the_pod(cluster: Workload) -> None:
    body = pod_body("slow", ["sleep", "60"])
    body["spec"]["activeDeadlineSeconds"] = 1
    name = pod(cluster, body)
    running_pod = await cluster.pod_phase(name, "Running")
    pid = pid_of(running_pod)
    done = await cluster.pod_phase(name, "Failed", within=5)
    assert (done["status"]["reason"], done["status"]["message"]) == (
        "DeadlineExceeded",
        "Pod was active on the node longer than the specified deadline",
    )
    assert container_status(done)["state"]["terminated"]["exitCode"] == 143
    assert not alive(pid)


async def test_deleting_a_pod_kills_its_process_tree(cluster: Workload) -> None:
    name = pod(cluster, pod_body("tree", ["sh", "-c", "sleep 60 & echo $! > child; wait"]))
    running_pod = await cluster.pod_phase(name, "Running")
    sandbox = cluster.kubelet.sandbox("default", name)
    child = int(
        await eventually(lambda: (sandbox / "child").exists() and (sandbox / "child").read_text().strip())
    )
    pid = pid_of(running_pod)
    cluster.store.delete(cluster.rt("", "pods"), "default", name)
    await eventually(lambda: not alive(pid) and not alive(child), within=5, what="processes gone")
    await eventually(lambda: not sandbox.exists(), what="sandbox removed")
    assert [t.transition for t in cluster.audit.transitions("Pod")][-1] == "Deleted"


async def test_stop_leaves_no_process_running(tmp_path: Path) -> None:
    async with running(tmp_path) as cluster:
        names = [pod(cluster, pod_body(f"sleeper{i}", ["sleep", "60"])) for i in range(3)]
        pids = [pid_of(await cluster.pod_phase(name, "Running")) for name in names]
        assert all(alive(pid) for pid in pids)
    assert not any(alive(pid) for pid in pids)


async def test_a_pod_the_kubelet_cannot_run_fails_visibly(cluster: Workload) -> None:
    blocker = cluster.kubelet.sandbox("default", "blocked")
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the sandbox directory should be")
    name = pod(cluster, pod_body("blocked", [PY, "-c", "print(1)"]))
    failed = await cluster.pod_phase(name, "Failed")
    assert failed["status"]["reason"] == "KubeletError"
    assert "could not run this Pod" in failed["status"]["message"]
    other = pod(cluster, pod_body("fine", [PY, "-c", "print(2)"]))
    await cluster.pod_phase(other, "Succeeded")


async def test_one_bad_pod_does_not_stop_the_kubelet(cluster: Workload) -> None:
    bad = pod(
        cluster,
        pod_body(
            "bad",
            [PY, "-c", "print(1)"],
            env=[{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.nonsense"}}}],
        ),
    )
    good = pod(cluster, pod_body("good", [PY, "-c", "print(2)"]))
    await cluster.pod_phase(good, "Succeeded")
    waiting = await eventually(
        lambda: (
            (p := cluster.pod(bad))
            and p["status"].get("containerStatuses")
            and container_status(p)["state"].get("waiting")
        )
    )
    assert waiting["reason"] == "CreateContainerConfigError"


HARD_KILL_SCRIPT = """
import asyncio, sys, tempfile, pathlib
from workload_kit import running, pod_body, pid_of

async def main():
    async with running(pathlib.Path(tempfile.mkdtemp())) as cluster:
        cluster.create("", "pods", "default", pod_body("orphan", ["sleep", "60"]))
        print(pid_of(await cluster.pod_phase("orphan", "Running")), flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_a_sigkilled_dev_cluster_takes_its_direct_children_with_it(tmp_path: Path) -> None:
    kit = str(Path(__file__).parent)
    process = await asyncio.create_subprocess_exec(
        PY, "-c", HARD_KILL_SCRIPT, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": kit}
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        child = int(line)
        assert alive(child)
    finally:
        process.kill()
        await process.wait()
    await eventually(lambda: not alive(child), within=5, what="PR_SET_PDEATHSIG to kill the container")
