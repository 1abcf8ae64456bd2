from __future__ import annotations

from pathlib import Path

import pytest

from baton.cli.lint import Finding, lint_paths, main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

PIPELINE = """\
apiVersion: baton.dev/v1alpha1
kind: Pipeline
metadata:
  name: etl
spec:
  params:
    - name: date
  taskDefaults:
    image: python:3.12-slim
  tasks:
    - name: extract
      args: ["$(params.date)"]
    - name: load
      dependsOn: [extract]
"""


HEAD = "apiVersion: baton.dev/v1alpha1\nkind: Pipeline\nmetadata:\n"
RUN_HEAD = "apiVersion: baton.dev/v1alpha1\nkind: PipelineRun\nmetadata:\n  name: r\nspec:\n"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_examples_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert lint_paths([str(EXAMPLES)]) == []
    assert main([str(p) for p in sorted(EXAMPLES.glob("*.yaml"))]) == 0
    out = capsys.readouterr()
    assert out.out == "OK: 7 file(s), 6 Pipelines, 1 PipelineRun\n" and out.err == ""


@pytest.mark.parametrize(
    ("text", "findings"),
    [
        pytest.param(
            PIPELINE.replace("dependsOn: [extract]", "dependsOn: [extrct]"),
            ['Pipeline/etl: task "load" depends on unknown task "extrct" (did you mean "extract"?)'],
            id="unknown-dependency",
        ),
        pytest.param(
            PIPELINE.replace("    - name: extract\n", "    - name: extract\n      dependsOn: [load]\n"),
            ["Pipeline/etl: dependency cycle: extract -> load -> extract"],
            id="cycle",
        ),
        pytest.param(
            PIPELINE.replace("name: load", "name: Load_Data").replace(
                "dependsOn: [extract]", "dependsOn: []"
            ),
            [
                'Pipeline/etl: spec.tasks[1].name: "Load_Data" must be a DNS-1123 label: lowercase letters, '
                "digits "
                "and '-', starting and ending with a letter or digit"
            ],
            id="invalid-name",
        ),
        pytest.param(
            PIPELINE.replace("  taskDefaults:", "  parallelism: 0\n  taskDefaults:"),
            ["Pipeline/etl: spec.parallelism: Input should be greater than or equal to 1"],
            id="parallelism",
        ),
        pytest.param(
            PIPELINE.replace('args: ["$(params.date)"]', 'args: ["$(params.day)"]'),
            ['Pipeline/etl: task "extract": args[0] references undeclared param "day" (declared: date)'],
            id="undeclared-param",
        ),
        pytest.param(
            PIPELINE
            + "---\napiVersion: baton.dev/v1alpha1\nkind: PipelineRun\nmetadata:\n  generateName: etl-\n"
            "spec:\n  pipelineRef:\n    name: etl\n  params:\n    dat: 2025-01-31\n",
            [
                'PipelineRun/etl-*: unknown param "dat" (did you mean "date"?)',
                'PipelineRun/etl-*: missing value for required param "date" (it has no default)',
            ],
            id="run-params-checked-against-the-pipeline",
        ),
        pytest.param(
            RUN_HEAD + "  pipelineSpec:\n    tasks:\n      - name: a\n",
            ['PipelineRun/r: task "a" has no image (set image, or taskDefaults.image)'],
            id="inline-spec",
        ),
        pytest.param(
            RUN_HEAD + "  pipelineRef:\n    name: p\n  params:\n    count: 3\n",
            ["PipelineRun/r: spec.params.count: Input should be a valid string"],
            id="unquoted-number",
        ),
        pytest.param(
            "apiVersion: baton.dev/v1beta9\nkind: Pipeline\nmetadata:\n  name: p\n",
            ['Pipeline/p: unsupported apiVersion "baton.dev/v1beta9"'],
            id="api-version",
        ),
        pytest.param(
            HEAD + "  name: p\nspec:\n  tasks:\n  - name: a\n    image: x\n  extra: 1\n",
            ["Pipeline/p: spec.extra: unknown field"],
            id="unknown-field",
        ),
        pytest.param(
            "apiVersion: baton.dev/v1alpha1\nkind: Workflow\nmetadata:\n  name: w\n",
            ['Workflow/w: unknown kind "Workflow" (expected Pipeline, PipelineRun or Dataset)'],
            id="unknown-kind",
        ),
        pytest.param(
            PIPELINE.replace(
                'args: ["$(params.date)"]', 'args: ["$(params.date)"]\n      results: [{name: rows}]'
            ).replace(
                "dependsOn: [extract]", 'args: ["$(tasks.extract.results.row)", "$(workspaces.data.path)"]'
            ),
            [
                'Pipeline/etl: task "load": args[0] reads result "row" of task "extract", which declares '
                'rows (did you mean "rows"?)',
                'Pipeline/etl: task "load": args[1] reads the path of unknown workspace "data" (the pipeline '
                "declares no workspaces)",
            ],
            id="data-flow-references",
        ),
        pytest.param(
            PIPELINE.replace('args: ["$(params.date)"]', "forEach: {from: $(params.date)}")
            + "---\napiVersion: baton.dev/v1alpha1\nkind: PipelineRun\nmetadata:\n  name: r\n"
            "spec:\n  pipelineRef:\n    name: etl\n  params:\n    date: 2025-01-31\n",
            ['PipelineRun/r: forEach of task "extract": param "date" is not a JSON list: \'2025-01-31\''],
            id="for-each-param-is-no-list",
        ),
        pytest.param(
            PIPELINE.replace("dependsOn:", "depends_on:").replace("taskDefaults:", "task_defaults:"),
            [
                "Pipeline/etl: spec.tasks[1].depends_on: unknown field",
                "Pipeline/etl: spec.task_defaults: unknown field",
            ],
            id="python-names-are-not-api-names",
        ),
        pytest.param(
            PIPELINE.replace(
                "  taskDefaults:",
                '  schedule: {cron: "30 2 * * 8", timezone: Europe/Berlim,\n'
                '    params: {date: "$(schedule.day)"}}\n'
                "  taskDefaults:",
            ),
            [
                'Pipeline/etl: schedule.timezone: "Europe/Berlim" is not an IANA time zone (for example '
                "Europe/Berlin)",
                'Pipeline/etl: schedule.cron: "30 2 * * 8" is not valid: Bad day-of-week',
                'Pipeline/etl: schedule.params.date: unknown variable "$(schedule.day)"; known: '
                "$(schedule.time), $(schedule.date), $(schedule.intervalStart), $(schedule.intervalEnd)",
            ],
            id="schedule",
        ),
        pytest.param(
            HEAD
            + "  name: a\nspec:\n  tasks: [{name: t, image: x}]\n  triggers: [{pipeline: b}]\n---\n"
            + HEAD
            + "  name: b\nspec:\n  tasks: [{name: t, image: x}]\n  triggers: [{pipeline: a}]\n",
            [
                "Pipeline/a: trigger loop: a <- b <- a (each run would start the next forever)",
                "Pipeline/b: trigger loop: b <- a <- b (each run would start the next forever)",
            ],
            id="trigger-loop",
        ),
        pytest.param(
            HEAD + "  name: a\nspec:\n  tasks: [{name: t, pipelineRef: {name: a}}]\n",
            ["Pipeline/a: sub-pipeline recursion: a -> a (each run would start the next forever)"],
            id="sub-pipeline-recursion",
        ),
        pytest.param("key: [unclosed\n", None, id="yaml-error"),
        pytest.param(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n", [], id="other-kinds-skipped"
        ),
    ],
)
def test_findings(tmp_path: Path, text: str, findings: list[str] | None) -> None:
    path = write(tmp_path, "manifest.yaml", text)
    found = lint_paths([path])
    if findings is None:
        assert len(found) == 1 and found[0].message.startswith("cannot read:")
    else:
        # Each finding points at its line (checked below for a few); here, what it says.
        assert [str(f).replace(f"{path}:{f.line}:", f"{path}:") for f in found] == [
            f"{path}: {f}" for f in findings
        ]
        assert all(f.line for f in found if f.kind)


def test_dates_stay_strings_as_with_kubectl(tmp_path: Path) -> None:
    run = "---\n" + RUN_HEAD + "  pipelineRef:\n    name: etl\n  params:\n    date: 2025-01-31\n"
    assert lint_paths([write(tmp_path, "m.yaml", PIPELINE + run)]) == []


def test_runs_are_checked_against_pipelines_in_other_files(tmp_path: Path) -> None:
    run = RUN_HEAD + "  pipelineRef:\n    name: etl\n"
    pipeline_file, run_file = write(tmp_path, "p.yaml", PIPELINE), write(tmp_path, "r.yaml", run)
    assert lint_paths([pipeline_file, run_file]) == [
        Finding(run_file, "PipelineRun", "r", 'missing value for required param "date" (it has no default)')
    ]
    assert lint_paths([run_file]) == []  # the Pipeline is not known: params cannot be checked


def test_a_run_of_an_invalid_pipeline_says_so(tmp_path: Path) -> None:
    broken = PIPELINE.replace("dependsOn: [extract]", "dependsOn: [nope]")
    run = "---\n" + RUN_HEAD + "  pipelineRef:\n    name: etl\n"
    messages = [f.message for f in lint_paths([write(tmp_path, "m.yaml", broken + run)])]
    assert messages[-1] == 'runs Pipeline "etl", which is invalid (see its findings)'


def test_lists_are_looked_into(tmp_path: Path) -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: baton.dev/v1alpha1\n  kind: Pipeline\n  metadata:\n"
        "    name: p\n  spec:\n    tasks: []\n"
    )
    (finding,) = lint_paths([write(tmp_path, "list.yaml", text)])
    assert finding.kind == "Pipeline" and finding.message.startswith(
        "spec.tasks: List should have at least 1"
    )


def test_main_prints_findings_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.yaml", PIPELINE.replace("dependsOn: [extract]", "dependsOn: [load]"))
    missing = str(tmp_path / "missing.yaml")
    assert main([bad, missing]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f'{bad}:13: Pipeline/etl: task "load" depends on itself',
        f"{missing}: no such file or directory",
        "baton lint: 2 problem(s) in 2 file(s)",
    ]


def test_main_notes_runs_it_could_not_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = RUN_HEAD + "  pipelineRef:\n    name: x\n"
    assert main([write(tmp_path, "r.yaml", run)]) == 0
    assert "1 run(s) reference a Pipeline not in these files" in capsys.readouterr().out


def test_the_baton_cli_runs_lint(capsys: pytest.CaptureFixture[str]) -> None:
    from baton.cli.main import main as baton

    assert baton(["lint", str(EXAMPLES / "daily-sales.yaml")]) == 0
    assert capsys.readouterr().out.startswith("OK: 1 file(s), 1 Pipeline, 0 PipelineRuns")


def test_a_yaml_error_says_where_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "apiVersion: v1\nkind: [\n")
    (finding,) = lint_paths([path])
    assert str(finding) == (
        f"{path}: cannot read: not valid YAML: line 3, column 1: expected the node content, but found "
        "'<stream end>' (while parsing a flow node)"
    )


def test_a_dataset_known_only_at_run_time_is_a_note_not_a_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        HEAD
        + "  name: lake\nspec:\n  taskDefaults: {image: busybox}\n  tasks:\n"
        + "    - name: list\n      results: [{name: day}]\n"
        + "    - name: extract\n"
        + '      outputs: [{dataset: "s3://lake/sales", partition: "$(tasks.list.results.day)"}]\n'
        + '    - name: load\n      inputs: ["s3://lake/sales"]\n'
    )
    path = write(tmp_path, "lake.yaml", text)
    assert main([path]) == 0
    err = capsys.readouterr().err
    assert err.startswith(
        f'note: {path}:10: Pipeline/lake: task "extract": output "s3://lake/sales" has a partition'
    )
    assert "implies no dependency: add dependsOn where one is needed" in err


def test_a_dataset_trigger_on_its_own_output_is_a_loop(tmp_path: Path) -> None:
    text = (
        HEAD
        + "  name: loop\nspec:\n  taskDefaults: {image: busybox}\n"
        + '  triggers: [{dataset: "s3://loop/*"}]\n'
        + '  tasks:\n    - name: write\n      outputs: ["s3://loop/out"]\n'
    )
    findings = lint_paths([write(tmp_path, "loop.yaml", text)])
    assert [f.message for f in findings] == [
        "trigger loop: loop <- loop (each run would start the next forever)"
    ]


def test_datasets_are_checked_too(tmp_path: Path) -> None:
    good = "apiVersion: baton.dev/v1alpha1\nkind: Dataset\nmetadata: {name: sales}\nspec:\n  uri: s3://lake/sales\n"
    good += "  freshness: {maxAgeSeconds: 93600}\n"
    assert lint_paths([write(tmp_path, "good.yaml", good)]) == []
    bad = "apiVersion: baton.dev/v1alpha1\nkind: Dataset\nmetadata: {name: sales}\nspec: {uri: not a uri}\n"
    findings = lint_paths([write(tmp_path, "bad.yaml", bad)])
    assert len(findings) == 1 and "spec.uri" in findings[0].message, findings


def test_a_finally_task_longer_than_the_finally_budget_is_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        HEAD
        + "  name: nightly\nspec:\n  taskDefaults: {image: busybox}\n  finallyTimeoutSeconds: 120\n"
        + "  tasks: [{name: load}]\n  finally:\n    - {name: release-lock, timeoutSeconds: 300}\n"
    )
    path = write(tmp_path, "nightly.yaml", text)
    assert main([path]) == 0
    assert capsys.readouterr().err == (
        f'note: {path}:10: Pipeline/nightly: finally task "release-lock" may take up to 300s '
        "(timeoutSeconds, its own or taskDefaults', times attempts), longer than the finally tasks' "
        "budget (120s, finallyTimeoutSeconds): it would be stopped first, with reason DeadlineExceeded; "
        "raise finallyTimeoutSeconds\n"
    )
    run = HEAD.replace("kind: Pipeline", "kind: PipelineRun") + (
        "  name: tonight\nspec:\n  pipelineRef: {name: nightly}\n  finallyTimeoutSeconds: 400\n"
    )
    quick = HEAD.replace("kind: Pipeline", "kind: PipelineRun") + (
        "  name: quick\nspec:\n  pipelineRef: {name: nightly}\n  finallyTimeoutSeconds: 60\n"
    )
    assert main([path, write(tmp_path, "runs.yaml", run + "---\n" + quick)]) == 0
    err = capsys.readouterr().err
    assert "PipelineRun/tonight" not in err  # its own budget lets the finally task finish
    assert 'PipelineRun/quick: finally task "release-lock" may take up to 300s' in err
    assert "budget (60s, the run's finallyTimeoutSeconds)" in err


def test_a_finding_points_at_the_line_of_the_task_or_field_it_is_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        HEAD
        + "  name: etl\n"  # line 4
        + "spec:\n"
        + "  taskDefaults: {image: busybox}\n"
        + "  parallelism: 0\n"  # line 7
        + "  tasks:\n"
        + "    - name: extract\n"  # line 9
        + "    - name: load\n"  # line 10
        + "      dependsOn: [extrct]\n"
    )
    path = write(tmp_path, "etl.yaml", text)
    assert main([path]) == 1
    err = capsys.readouterr().err.splitlines()
    assert f"{path}:7: Pipeline/etl: spec.parallelism: Input should be greater than or equal to 1" in err
    fixed = write(tmp_path, "fixed.yaml", text.replace("parallelism: 0", "parallelism: 2"))
    assert main([fixed]) == 1
    (line, *_) = capsys.readouterr().err.splitlines()
    assert line.startswith(f'{fixed}:10: Pipeline/etl: task "load" depends on unknown task "extrct"')


def test_lint_reads_stdin_and_answers_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import json

    spec = "spec:\n  taskDefaults: {image: busybox}\n  tasks:\n    - name: a\n      dependsOn: [b]\n"
    text = HEAD + "  name: etl\n" + spec
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["-", "--output", "json"]) == 1
    (finding,) = json.loads(capsys.readouterr().out)
    assert finding == {
        "file": "-",
        "line": 8,
        "severity": "error",
        "kind": "Pipeline",
        "name": "etl",
        "message": 'task "a" depends on unknown task "b"',
    }
