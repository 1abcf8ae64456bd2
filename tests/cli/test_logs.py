"""`kubectl baton logs`: a task's log, every task's in order, following, attempts, and helpful errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from plugin_kit import Plugin

from support import Kubectl, wait_for

FAILING_LOGS = """\
==> prepare (attempt 1) <==
prepared 10 records

==> validate (attempt 1) <==
validation failed: 2 of 10 records have a negative amount (ids [3, 7])

==> audit (attempt 1) <==
audited 10 records

==> publish <==
(skipped: upstream task "validate" failed)

==> notify <==
(skipped: upstream task "validate" failed)

"""


def test_logs_of_every_task_in_dependency_order(baton: Plugin, finished_run: Callable[[str], str]) -> None:
    name = finished_run("failing")
    result = baton("logs", name)
    assert (result.code, result.out, result.err) == (0, FAILING_LOGS, "")


def test_logs_of_one_task_and_of_an_attempt(baton: Plugin, finished_run: Callable[[str], str]) -> None:
    name = finished_run("failing")
    result = baton("logs", name, "validate")
    assert (result.code, result.out) == (
        0,
        "validation failed: 2 of 10 records have a negative amount (ids [3, 7])\n",
    )
    assert baton("logs", name, "validate", "--attempt", "1").out == result.out
    missing = baton("logs", name, "validate", "--attempt", "2")
    assert missing.code == 1
    assert (
        missing.err
        == f'error: task "validate" of pipelinerun {name} has 1 attempt(s): there is no attempt 2\n'
    )


def test_follow_streams_each_task_as_the_run_goes(baton: Plugin) -> None:
    created = baton("run", "daily-sales", "-p", "regions=eu")
    name = created.out.split("/")[1].split()[0]
    result = baton("logs", name, "-f")  # from the start: waits for each task, follows it to its end
    assert result.code == 0, result
    headers = [line for line in result.out.splitlines() if line.startswith("==>")]
    assert headers == [
        "==> regions (attempt 1) <==",
        "==> extract[0] eu (attempt 1) <==",
        "==> revenue-by-region (attempt 1) <==",
        "==> revenue-by-product (attempt 1) <==",
        "==> load (attempt 1) <==",
        "==> report (attempt 1) <==",
    ]
    assert "extracted 24 sales rows of eu for 2025-01-31" in result.out
    assert "Daily sales report for 2025-01-31 (regions: eu)" in result.out


def test_follow_one_task_waits_for_it_to_start(baton: Plugin) -> None:
    created = baton("run", "daily-sales", "-p", "date=2025-04-01")
    name = created.out.split("/")[1].split()[0]
    result = baton("logs", name, "report", "-f")
    assert result.code == 0, result
    assert result.out.startswith("Daily sales report for 2025-04-01"), result.out


def test_errors_name_what_exists(baton: Plugin, finished_run: Callable[[str], str]) -> None:
    name = finished_run("failing")
    unknown_task = baton("logs", name, "nope")
    assert unknown_task.code == 1
    tasks = "prepare, validate, publish, notify, audit"
    assert unknown_task.err == f'error: pipelinerun {name} has no task "nope"; its tasks: {tasks}\n'
    skipped = baton("logs", name, "publish")
    assert skipped.code == 1
    assert 'never ran: no logs (skipped: upstream task "validate" failed)' in skipped.err
    unknown_run = baton("logs", "nope")
    assert unknown_run.code == 1
    assert unknown_run.err.startswith(
        f'error: pipelinerun "nope" not found in namespace "{baton.namespace}"; runs there: '
    )
    assert name in unknown_run.err
    assert baton("logs", name, "--attempt", "1").code == 2  # --attempt needs a task


def test_instance_names_split_into_task_and_index() -> None:
    from baton.cli.logs import split_instance

    assert split_instance("extract[12]") == ("extract", 12)
    assert split_instance("extract") == ("extract", None)
    assert split_instance("odd[x]") == ("odd[x]", None)


def test_a_reused_task_shows_the_log_of_the_run_it_ran_in(
    baton: Plugin, finished_run: Callable[[str], str], tmp_path: Path
) -> None:
    old = finished_run("failing")
    retried = baton("retry", old, "--watch", "--timeout", "120")
    assert retried.code == 1, retried  # validate fails again
    retry = retried.out.splitlines()[0].split("/")[1].split()[0]
    one = baton("logs", retry, "prepare")
    assert (one.code, one.out) == (0, "prepared 10 records\n"), one
    every = baton("logs", retry)
    reused = f'==> prepare <==\n(task "prepare" was reused from pipelinerun {old}; its log follows)\n'
    assert reused in every.out
    # kubectl get -o wide says which run a retry reuses.
    kubectl = Kubectl(baton.kubeconfig, tmp_path)
    wide = kubectl("get", "pipelineruns", retry, "-n", baton.namespace, "-o", "wide").stdout.splitlines()
    assert "RETRY OF" in wide[0] and old in wide[1].split(), wide
    assert "validation failed" in every.out


def test_a_pipeline_name_means_its_newest_run(baton: Plugin, finished_run: Callable[[str], str]) -> None:
    older = baton.api.run(finished_run("failing"))["metadata"]["creationTimestamp"]
    # Creation times have second precision: the newer run is created in a later second.
    wait_for(lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") > older, timeout=5)
    newest = finished_run("failing")
    result = baton("logs", "failing", "validate")
    assert result.code == 0 and result.out.startswith("validation failed"), result
    assert result.err == f"(the newest run of pipeline failing: {newest})\n"


def test_a_task_that_never_started_its_command_says_why(baton: Plugin) -> None:
    spec = {
        "taskDefaults": {"image": "busybox:1.36"},
        "tasks": [{"name": "broken", "command": ["/no/such/program"]}],
    }
    baton.api.apply(
        {
            "apiVersion": "baton.dev/v1alpha1",
            "kind": "Pipeline",
            "metadata": {"name": "nostart"},
            "spec": spec,
        }
    )
    run = baton("run", "nostart", "--watch", "--timeout", "60")
    name = run.out.splitlines()[0].split("/")[1].split()[0]
    result = baton("logs", name, "broken")
    assert result.code == 1, result
    assert result.err.startswith('error: task "broken" never started its command: StartError'), result.err
