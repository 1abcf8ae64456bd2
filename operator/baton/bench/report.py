"""What a scenario reports, the targets of issue 6, and the two outputs: bench.json and bench.md."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Target:
    op: str  # one of <, <=, >, >=
    limit: float
    unit: str = ""

    def met(self, value: float | None) -> bool | None:
        return None if value is None else _COMPARE[self.op](value, self.limit)

    def __str__(self) -> str:
        return f"{self.op} {_number(self.limit)}{' ' + self.unit if self.unit else ''}".replace(
            "<=", "≤"
        ).replace(">=", "≥")


@dataclass
class Metric:
    key: str
    """Stable identifier within the scenario, e.g. "overhead_p50_ms"."""
    label: str
    """What it is, for the table."""
    value: float | None
    unit: str = ""
    target: Target | None = None

    @property
    def met(self) -> bool | None:
        return self.target.met(self.value) if self.target is not None else None

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "target": str(self.target) if self.target else None,
            "met": self.met,
        }


@dataclass
class ScenarioResult:
    name: str
    title: str
    metrics: list[Metric] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    completed: bool = False
    error: str | None = None
    seconds: float = 0.0

    def add(
        self, key: str, label: str, value: float | None, unit: str = "", target: Target | None = None
    ) -> None:
        self.metrics.append(Metric(key, label, value, unit, target))

    def value(self, key: str) -> float | None:
        return next((m.value for m in self.metrics if m.key == key), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "completed": self.completed,
            "error": self.error,
            "seconds": round(self.seconds, 3),
            "metrics": {m.key: m.as_json() for m in self.metrics},
            "details": self.details,
        }


@dataclass
class Report:
    started: str
    smoke: bool
    environment: dict[str, Any]
    sizes: dict[str, Any]
    scenarios: list[ScenarioResult]
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "started": self.started,
            "seconds": round(self.seconds, 3),
            "smoke": self.smoke,
            "environment": self.environment,
            "sizes": self.sizes,
            "scenarios": {s.name: s.as_json() for s in self.scenarios},
            "targets": {
                f"{s.name}.{m.key}": m.met for s in self.scenarios for m in s.metrics if m.target is not None
            },
        }

    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        json_path, md_path = folder / "bench.json", folder / "bench.md"
        json_path.write_text(json.dumps(self.as_json(), indent=2, default=_jsonable) + "\n")
        md_path.write_text(markdown(self))
        return json_path, md_path


def markdown(report: Report) -> str:
    env = report.environment
    lines = [
        f"Baton benchmark{' (smoke sizes)' if report.smoke else ''}: {report.started[:10]}, "
        f"{env.get('cpu', {}).get('model', '?')}, {env.get('cpu', {}).get('cores', '?')} cores, "
        f"Python {env.get('python', '?')}, commit {str(env.get('git', {}).get('commit', '?'))[:12]}"
        f"{' (dirty)' if env.get('git', {}).get('dirty') else ''}; "
        f"the operator in its own process against the dev cluster in instant mode.",
        "",
        "| Scenario | Metric | Value | Target | Met? |",
        "|---|---|---:|---|:---:|",
    ]
    for scenario in report.scenarios:
        title = scenario.title + ("" if scenario.completed else " (INCOMPLETE)")
        for i, metric in enumerate(scenario.metrics):
            lines.append(
                f"| {title if i == 0 else ''} | {metric.label} | {_value(metric)} | "
                f"{metric.target or ''} | {_met(metric.met)} |"
            )
        if not scenario.metrics:
            lines.append(f"| {title} | error | {scenario.error or 'no result'} | | |")
    lines.append("")
    requests = _requests_table(report.scenarios)
    if requests:
        lines.extend(requests)
    return "\n".join(lines) + "\n"


def _requests_table(scenarios: Sequence[ScenarioResult]) -> list[str]:
    rows = [(s, s.details["requests"]) for s in scenarios if s.details.get("requests")]
    if not rows:
        return []
    lines = [
        "Operator requests per task by verb and resource (watches and the start-up lists excluded):",
        "",
        "| Scenario | Tasks | Requests per task | By verb and resource |",
        "|---|---:|---:|---|",
    ]
    for scenario, requests in rows:
        by = ", ".join(f"{k} {v}" for k, v in requests["per_task_by_verb"].items())
        lines.append(f"| {scenario.title} | {requests['tasks']} | {requests['per_task']:.2f} | {by} |")
    lines.append("")
    return lines


def _value(metric: Metric) -> str:
    if metric.value is None:
        return "n/a"
    return f"{_number(metric.value)}{' ' + metric.unit if metric.unit else ''}"


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _met(met: bool | None) -> str:
    return "" if met is None else ("yes" if met else "**no**")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)
