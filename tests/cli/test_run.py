"""`kubectl baton run`: create a run, follow it, print it, and say what is wrong when it cannot."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from plugin_kit import Plugin

from support import wait_for


def test_run_creates_a_run_of_the_pipeline_with_its_params(baton: Plugin) -> None:
    result = baton("run", "daily-sales", "-p", "date=2025-03-01", "--param", "regions=eu")
    assert result.code == 0, result
    match = re.fullmatch(r"pipelinerun\.baton\.dev/(daily-sales-[a-z0-9]{5}) created\n", result.out)
    assert match, result.out
    run = baton.api.run(match.group(1))
    params = {"date": "2025-03-01", "regions": "eu"}
    assert run["spec"] == {"pipelineRef": {"name": "daily-sales"}, "params": params}
    # The operator picks it up like any other run.
    wait_for(lambda: (baton.api.run(match.group(1)).get("status") or {}).get("phase"), timeout=30)


def test_run_watch_follows_a_run_to_success_and_exits_0(baton: Plugin) -> None:
    result = baton("run", "daily-sales", "--watch", "--timeout", "120")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0].endswith(" created")
    # Each task is seen running and succeeding, in dependency order, then the run's result.
    succeeded = [line.split()[0] for line in lines if "Succeeded" in line and line.startswith("  ")]
    assert succeeded.index("extract") < succeeded.index("load") < succeeded.index("report"), result.out
    tasks = ["regions", "extract", "revenue-by-region", "revenue-by-product", "load", "report"]
    assert sorted(succeeded) == sorted(tasks)
    assert any("3/3 items" in line for line in lines if line.startswith("  extract")), result.out
    # The run's result, then its results (the Pipeline's spec.results).
    end = next(i for i, line in enumerate(lines) if line.startswith("pipelinerun/"))
    assert re.search(r"^pipelinerun/daily-sales-\w+ ✓ Succeeded in \d+s$", lines[end]), lines[end]
    assert lines[end + 1 :][:2] == ["results:", "  revenue: 10043.25"], result.out
    assert "    Daily sales report for 2025-01-31 (regions: apac, eu, us)" in lines


def test_run_watch_exits_1_when_the_run_fails_and_says_why(baton: Plugin) -> None:
    result = baton("run", "failing", "--watch", "--timeout", "120")
    assert result.code == 1, result
    assert re.search(r"^  validate +✗ Failed .*exit code 3: validation failed", result.out, re.M), result.out
    skipped = r"^  publish +⊘ Skipped +upstream task \"validate\" failed"
    assert re.search(skipped, result.out, re.M), result.out
    last = result.out.splitlines()[-1]
    assert "✗ Failed" in last and 'task "validate" failed' in last, last


def test_run_prints_the_created_object_as_json_or_yaml(baton: Plugin) -> None:
    as_json = baton("run", "failing", "-o", "json")
    assert as_json.code == 0, as_json
    created = json.loads(as_json.out)
    assert created["kind"] == "PipelineRun" and created["metadata"]["name"].startswith("failing-")
    assert created["metadata"]["namespace"] == baton.namespace
    as_yaml = baton("run", "failing", "-o", "yaml", "-p", "records=4")
    assert as_yaml.code == 0, as_yaml
    loaded = yaml.safe_load(as_yaml.out)
    assert loaded["spec"] == {"pipelineRef": {"name": "failing"}, "params": {"records": "4"}}
    as_name = baton("run", "failing", "-o", "name")
    assert re.fullmatch(r"pipelinerun\.baton\.dev/failing-\w+\n", as_name.out), as_name.out


def test_json_output_stays_parseable_with_watch(baton: Plugin) -> None:
    result = baton("run", "failing", "-o", "json", "--watch", "--timeout", "120")
    assert result.code == 1
    assert json.loads(result.out)["kind"] == "PipelineRun"  # stdout: the object only
    assert "✗ Failed" in result.err  # the progress went to stderr


def test_unknown_pipeline_names_the_pipelines_there(baton: Plugin) -> None:
    result = baton("run", "daly-sales")
    assert result.code == 1
    assert result.err == (
        f'error: pipeline "daly-sales" not found in namespace "{baton.namespace}" (did you mean '
        '"daily-sales"?); Pipelines there: daily-sales, failing\n'
    )


def test_param_mistakes_are_usage_errors(baton: Plugin) -> None:
    unknown = baton("run", "daily-sales", "-p", "dates=2025-01-01")
    assert unknown.code == 2
    assert 'unknown param "dates" (did you mean "date"?)' in unknown.err
    assert "declares: date, regions" in unknown.err
    malformed = baton("run", "daily-sales", "-p", "date")
    assert (malformed.code, malformed.err) == (2, 'error: invalid param "date": expected NAME=VALUE\n')


def test_usage_errors_exit_2(baton: Plugin) -> None:
    assert baton("run").code == 2
    assert baton("run", "daily-sales", "-o", "table").code == 2
    assert baton("logs").code == 2


def test_an_empty_namespace_says_so(baton: Plugin) -> None:
    result = baton("run", "daily-sales", "-n", "default-empty", namespaced=False)
    assert result.code == 1
    assert "there are no Pipelines in it" in result.err, result.err


def test_a_param_given_twice_with_two_values_is_a_usage_error() -> None:
    from baton.cli.kubeapi import CliError
    from baton.cli.run import parse_params

    assert parse_params(["a=1", "b=2", "a=1"]) == {"a": "1", "b": "2"}
    with pytest.raises(CliError) as raised:
        parse_params(["date=2025-01-31", "date=2025-02-01"])
    assert raised.value.code == 2
    assert raised.value.message == "param \"date\" is given twice ('2025-01-31' and '2025-02-01'): keep one"
