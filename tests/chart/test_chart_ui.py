"""The chart's optional web UI (`ui.*`): `baton ui` from the operator's image, with its own
ServiceAccount, Service and RBAC: read-only by default, create and patch on runs with actions, and
nothing but `impersonate` behind an authenticating proxy.

The rendering helpers, the authorizer model and the tools are test_chart.py's.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from test_chart import (
    CHART,
    KUBERNETES_VERSION,
    NAMESPACE,
    RELEASE,
    TOOLS,
    Obj,
    assert_restricted,
    authorized,
    helm,
    of_kind,
    render,
    rules,
    run,
    template,
    tool,
    venv_tool,
)

from baton import GROUP

UI = "baton-ui"  # the release's full name, with -ui
OPERATOR = "baton"
ENABLED = 'ui={"enabled":true}'
ACTIONS = 'ui={"enabled":true,"actions":{"enabled":true}}'
NAMESPACES = 'ui={"enabled":true,"namespaces":["team-a","team-b"]}'
PROXY = '"networkPolicy":{"ingressFrom":[{"podSelector":{"matchLabels":{"app":"oauth2-proxy"}}}]}'
"""Impersonation needs the proxy named as the only source of the UI's traffic."""
IMPERSONATION = (
    'ui={"enabled":true,"impersonation":{"enabled":true,"users":["alice@example.com","bob"],'
    '"groupsHeader":"X-Forwarded-Groups","groups":["baton-users"]},' + PROXY + "}"
)
NETWORK_POLICY = 'networkPolicy={"enabled":true}'
HOSTS = [
    f"--allowed-host={UI}",
    f"--allowed-host={UI}.{NAMESPACE}",
    f"--allowed-host={UI}.{NAMESPACE}.svc",
    f"--allowed-host={UI}.{NAMESPACE}.svc.cluster.local",
]
"""The Service's names: the Host headers the UI answers besides loopback's (DNS rebinding)."""

READ_RULES: list[Obj] = [
    {"apiGroups": ["baton.dev"], "resources": ["pipelines"], "verbs": ["get", "list"]},
    {"apiGroups": ["baton.dev"], "resources": ["pipelineruns"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
]
ACTION_RULES: list[Obj] = [
    {**rule, "verbs": ["get", "list", "watch", "create", "patch"]}
    if rule["resources"] == ["pipelineruns"]
    else rule
    for rule in READ_RULES
]
IMPERSONATION_RULES: list[Obj] = [
    {
        "apiGroups": [""],
        "resources": ["users"],
        "resourceNames": ["alice@example.com", "bob"],
        "verbs": ["impersonate"],
    },
    {"apiGroups": [""], "resources": ["groups"], "resourceNames": ["baton-users"], "verbs": ["impersonate"]},
]


# -- helpers ---------------------------------------------------------------------------------------


def named(objects: Sequence[Obj], kind: str, name: str) -> list[Obj]:
    return [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]


def ui_objects(objects: Sequence[Obj]) -> list[Obj]:
    return [o for o in objects if o["metadata"]["name"].startswith(UI)]


def deployment(objects: Sequence[Obj], name: str = UI) -> Obj:
    (found,) = named(objects, "Deployment", name)
    return found


def pod_of(objects: Sequence[Obj]) -> Obj:
    return deployment(objects)["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def args_of(objects: Sequence[Obj]) -> list[str]:
    (container,) = pod_of(objects)["containers"]
    assert container["command"] == ["baton"]
    return container["args"]  # type: ignore[no-any-return]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def fails(*sets: str) -> str:
    """Helm's error output for values the chart refuses to render."""
    args = [helm(), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    for value in sets:
        args += ["--set-json", value]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0, f"rendered: {sets}"
    return result.stderr


def ui_can(
    objects: Sequence[Obj], verb: str, namespace: str, group: str, resource: str, name: str = ""
) -> bool:
    return authorized(objects, verb, namespace, group, resource, name, account=UI)


@pytest.fixture(scope="module")
def enabled() -> list[Obj]:
    return render(ENABLED)


@pytest.fixture(scope="module")
def impersonating() -> list[Obj]:
    return render(IMPERSONATION)


# -- off by default --------------------------------------------------------------------------------


def test_the_ui_is_off_by_default() -> None:
    objects = render()
    assert not ui_objects(objects)
    assert not [o for o in objects if o["metadata"]["labels"].get("app.kubernetes.io/component") == "ui"]


# -- read-only, every namespace --------------------------------------------------------------------


def test_enabled_it_serves_baton_ui_read_only_in_every_namespace(enabled: list[Obj]) -> None:
    assert args_of(enabled) == ["ui", "--address=0.0.0.0", "--port=8080", "-A", *HOSTS, "--read-only"]
    (container,) = pod_of(enabled)["containers"]
    (operator,) = deployment(enabled, OPERATOR)["spec"]["template"]["spec"]["containers"]
    assert container["image"] == operator["image"]  # the operator's own image, `baton ui` in it
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert set(container["resources"]) == {"requests", "limits"}
    assert deployment(enabled)["spec"]["replicas"] == 1


def test_its_pod_is_restricted_and_runs_as_its_own_service_account(enabled: list[Obj]) -> None:
    pod = pod_of(enabled)
    assert_restricted(pod)
    assert {"name": "tmp", "mountPath": "/tmp"} in pod["containers"][0]["volumeMounts"]
    assert pod["serviceAccountName"] == UI
    assert pod["automountServiceAccountToken"] is True
    (account,) = named(enabled, "ServiceAccount", UI)
    assert account["metadata"]["namespace"] == NAMESPACE
    assert account["automountServiceAccountToken"] is True


def test_its_cluster_role_is_read_only(enabled: list[Obj]) -> None:
    (role,) = named(enabled, "ClusterRole", UI)
    assert rules(role) == READ_RULES
    (binding,) = named(enabled, "ClusterRoleBinding", UI)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": UI}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": UI, "namespace": NAMESPACE}]
    assert not named(enabled, "Role", UI)
    assert ui_can(enabled, "list", "", GROUP, "pipelineruns")
    assert ui_can(enabled, "get", "anywhere", "", "pods/log")
    for verb in ("create", "patch", "update", "delete"):
        assert not ui_can(enabled, verb, "anywhere", GROUP, "pipelineruns"), verb
    for resource in ("secrets", "configmaps", "pods/exec"):
        assert not ui_can(enabled, "get", "anywhere", "", resource), resource
    assert not ui_can(enabled, "impersonate", "", "", "users", "alice")
    # The UI's rights are its own: the operator's ServiceAccount gains nothing, nor the UI the operator's.
    operator_roles = {r["metadata"]["name"]: rules(r) for r in of_kind(render(), "ClusterRole")}
    assert {r["metadata"]["name"]: rules(r) for r in of_kind(enabled, "ClusterRole")} == {
        **operator_roles,
        UI: READ_RULES,
    }
    assert not ui_can(enabled, "create", "anywhere", "batch", "jobs")


def test_its_service_selects_its_pods_on_the_http_port(enabled: list[Obj]) -> None:
    (service,) = named(enabled, "Service", UI)
    assert service["metadata"]["namespace"] == NAMESPACE
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert service["spec"]["selector"] == deployment(enabled)["spec"]["selector"]["matchLabels"]
    exposed = render('ui={"enabled":true,"service":{"type":"NodePort","port":8080}}')
    (service,) = named(exposed, "Service", UI)
    assert (service["spec"]["type"], service["spec"]["ports"][0]["port"]) == ("NodePort", 8080)


def test_its_selectors_and_the_operators_are_disjoint_both_ways() -> None:
    objects = render(
        ENABLED, NETWORK_POLICY, 'metrics={"serviceMonitor":{"enabled":true}}', 'crds={"upgrade":true}'
    )
    ui_pod = deployment(objects)["spec"]["template"]["metadata"]["labels"]
    operator_pod = deployment(objects, OPERATOR)["spec"]["template"]["metadata"]["labels"]
    assert ui_pod["app.kubernetes.io/component"] == "ui"
    assert deployment(objects)["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "ui"
    (operator_policy,) = named(objects, "NetworkPolicy", OPERATOR)
    (ui_policy,) = named(objects, "NetworkPolicy", UI)
    (operator_service,) = named(objects, "Service", f"{OPERATOR}-metrics")
    (ui_service,) = named(objects, "Service", UI)
    operator_selectors = [
        deployment(objects, OPERATOR)["spec"]["selector"]["matchLabels"],
        operator_service["spec"]["selector"],
        operator_policy["spec"]["podSelector"]["matchLabels"],
        *[pdb["spec"]["selector"]["matchLabels"] for pdb in of_kind(objects, "PodDisruptionBudget")],
    ]
    ui_selectors = [
        deployment(objects)["spec"]["selector"]["matchLabels"],
        ui_service["spec"]["selector"],
        ui_policy["spec"]["podSelector"]["matchLabels"],
    ]
    assert len(operator_selectors) == 4
    for selector in operator_selectors:
        assert matches(selector, operator_pod) and not matches(selector, ui_pod), selector
    for selector in ui_selectors:
        assert matches(selector, ui_pod) and not matches(selector, operator_pod), selector
    (job,) = of_kind(objects, "Job")  # the CRD upgrade hook's Pod is neither's
    for selector in ui_selectors:
        assert not matches(selector, job["spec"]["template"]["metadata"]["labels"])
    # The operator's ServiceMonitor scrapes the metrics Service, not the UI's.
    (monitor,) = of_kind(objects, "ServiceMonitor")
    assert matches(monitor["spec"]["selector"]["matchLabels"], operator_service["metadata"]["labels"])
    assert not matches(monitor["spec"]["selector"]["matchLabels"], ui_service["metadata"]["labels"])


def test_its_objects_carry_the_standard_labels_and_live_in_the_release_namespace(enabled: list[Obj]) -> None:
    for obj in ui_objects(enabled):
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == UI
        assert labels["app.kubernetes.io/component"] == "ui"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/part-of"] == "baton"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert obj["metadata"]["namespace"] == NAMESPACE, obj["metadata"]
    assert {o["kind"] for o in ui_objects(enabled)} == {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Service",
        "Deployment",
    }


# -- actions ---------------------------------------------------------------------------------------


def test_actions_add_create_and_patch_on_runs_and_drop_read_only() -> None:
    objects = render(ACTIONS)
    assert args_of(objects) == ["ui", "--address=0.0.0.0", "--port=8080", "-A", *HOSTS]
    (role,) = named(objects, "ClusterRole", UI)
    assert rules(role) == ACTION_RULES
    assert ui_can(objects, "create", "anywhere", GROUP, "pipelineruns")
    assert ui_can(objects, "patch", "anywhere", GROUP, "pipelineruns")
    assert not ui_can(objects, "delete", "anywhere", GROUP, "pipelineruns")
    assert not ui_can(objects, "patch", "anywhere", GROUP, "pipelineruns/status")
    assert not ui_can(objects, "patch", "anywhere", GROUP, "pipelines")


def test_actions_need_a_single_replica() -> None:
    # An action form's token is accepted only by the process that served its page.
    stderr = fails('ui={"enabled":true,"replicas":2,"actions":{"enabled":true}}')
    assert "ui.actions.enabled needs ui.replicas: 1" in stderr
    assert deployment(render('ui={"enabled":true,"replicas":3}'))["spec"]["replicas"] == 3  # read-only


# -- namespaces ------------------------------------------------------------------------------------


def test_namespaces_get_a_role_each_and_the_ui_shows_only_them() -> None:
    objects = render(NAMESPACES)
    assert args_of(objects) == [
        "ui",
        "--address=0.0.0.0",
        "--port=8080",
        "--namespace=team-a",
        "--namespace=team-b",
        *HOSTS,
        "--read-only",
    ]
    assert not named(objects, "ClusterRole", UI) and not named(objects, "ClusterRoleBinding", UI)
    roles = {r["metadata"]["namespace"]: rules(r) for r in named(objects, "Role", UI)}
    assert roles == {"team-a": READ_RULES, "team-b": READ_RULES}
    bindings = {b["metadata"]["namespace"]: b for b in named(objects, "RoleBinding", UI)}
    assert set(bindings) == {"team-a", "team-b"}
    for binding in bindings.values():
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": UI}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": UI, "namespace": NAMESPACE}]
    assert ui_can(objects, "get", "team-a", "", "pods/log")
    assert not ui_can(objects, "get", "elsewhere", "", "pods/log")
    assert not ui_can(objects, "list", "", GROUP, "pipelineruns")  # all namespaces at once


def test_without_its_own_namespaces_the_ui_shows_the_operators() -> None:
    objects = render('watchNamespaces=["team-a"]', ENABLED)
    assert "--namespace=team-a" in args_of(objects) and "-A" not in args_of(objects)
    assert [r["metadata"]["namespace"] for r in named(objects, "Role", UI)] == ["team-a"]
    own = render('watchNamespaces=["team-a"]', 'ui={"enabled":true,"namespaces":["reports"]}')
    assert [a for a in args_of(own) if a.startswith("--namespace")] == ["--namespace=reports"]


# -- impersonation ---------------------------------------------------------------------------------


def test_impersonation_grants_only_impersonate_on_the_listed_users_and_groups(
    impersonating: list[Obj],
) -> None:
    (role,) = named(impersonating, "ClusterRole", f"{UI}-impersonate")
    assert rules(role) == IMPERSONATION_RULES
    (binding,) = named(impersonating, "ClusterRoleBinding", f"{UI}-impersonate")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": UI, "namespace": NAMESPACE}]
    assert binding["roleRef"]["name"] == f"{UI}-impersonate"
    # Nothing to read or write as itself: each request is the proxied user's.
    roles = of_kind(impersonating, "ClusterRole") + of_kind(impersonating, "Role")
    assert [r for r in roles if r["metadata"]["name"].startswith(UI)] == [role]
    for verb in ("get", "list", "watch", "create", "patch"):
        assert not ui_can(impersonating, verb, "anywhere", GROUP, "pipelineruns"), verb
    assert not ui_can(impersonating, "get", "anywhere", "", "pods/log")
    assert ui_can(impersonating, "impersonate", "", "", "users", "alice@example.com")
    assert not ui_can(impersonating, "impersonate", "", "", "users", "system:kube-controller-manager")
    assert ui_can(impersonating, "impersonate", "", "", "groups", "baton-users")
    assert not ui_can(impersonating, "impersonate", "", "", "groups", "system:masters")
    assert not ui_can(impersonating, "impersonate", "", "", "serviceaccounts", "default")


def test_impersonation_args_name_the_proxys_headers(impersonating: list[Obj]) -> None:
    assert args_of(impersonating) == [
        "ui",
        "--address=0.0.0.0",
        "--port=8080",
        "-A",
        *HOSTS,
        "--read-only",
        "--impersonate-user-header=X-Forwarded-User",
        "--impersonate-groups-header=X-Forwarded-Groups",
    ]
    # Without impersonation the UI trusts no header.
    assert not [a for a in args_of(render(ENABLED)) if a.startswith("--impersonate")]


def test_impersonation_with_actions_or_namespaces_grants_nothing_more() -> None:
    values = (
        'ui={"enabled":true,"namespaces":["team-a"],"actions":{"enabled":true},'
        '"impersonation":{"enabled":true,"users":["alice"]},' + PROXY + "}"
    )
    objects = render(values)
    assert args_of(objects) == [
        "ui",
        "--address=0.0.0.0",
        "--port=8080",
        "--namespace=team-a",
        *HOSTS,
        "--impersonate-user-header=X-Forwarded-User",
    ]
    assert not named(objects, "Role", UI) and not named(objects, "ClusterRole", UI)
    (role,) = named(objects, "ClusterRole", f"{UI}-impersonate")  # users are not namespaced
    assert rules(role) == [
        {"apiGroups": [""], "resources": ["users"], "resourceNames": ["alice"], "verbs": ["impersonate"]}
    ]
    assert not ui_can(objects, "create", "team-a", GROUP, "pipelineruns")


def test_allow_any_user_drops_the_user_names_only() -> None:
    objects = render('ui={"enabled":true,"impersonation":{"enabled":true,"allowAnyUser":true},' + PROXY + "}")
    (role,) = named(objects, "ClusterRole", f"{UI}-impersonate")
    assert rules(role) == [{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}]
    assert ui_can(objects, "impersonate", "", "", "users", "anyone")
    assert not ui_can(objects, "impersonate", "", "", "groups", "system:masters")


@pytest.mark.parametrize(
    ("impersonation", "message"),
    [
        (
            {"enabled": True},
            "ui.impersonation.enabled needs ui.impersonation.users (the user names the UI may impersonate) "
            "or ui.impersonation.allowAnyUser: true",
        ),
        (
            {"enabled": True, "users": ["alice"], "groupsHeader": "X-Forwarded-Groups"},
            "ui.impersonation.groupsHeader needs ui.impersonation.groups",
        ),
        (
            {"enabled": True, "users": ["alice"], "groups": ["baton-users"]},
            "ui.impersonation.groups needs ui.impersonation.groupsHeader",
        ),
        ({"enabled": True, "users": ["alice"], "userHeader": ""}, "needs ui.impersonation.userHeader"),
    ],
    ids=["no-users", "groups-header-without-groups", "groups-without-header", "no-user-header"],
)
def test_inconsistent_impersonation_values_fail_with_what_to_change(
    impersonation: dict[str, object], message: str
) -> None:
    stderr = fails(f"ui={json.dumps({'enabled': True, 'impersonation': impersonation})}")
    assert message in stderr, stderr


def test_the_schema_rejects_misspelt_ui_values_and_header_names() -> None:
    for value in (
        'ui={"enabled":true,"impersonation":{"enabled":true,"user":["alice"]}}',  # users
        'ui={"impersonation":{"userHeader":"X-Forwarded-User: admin"}}',
        'ui={"namespaces":["team-*"]}',
        'ui={"replicas":0}',
    ):
        assert "values don't meet the specifications of the schema" in fails(value), value


# -- network policy --------------------------------------------------------------------------------


def test_network_policy_admits_the_ui_port_and_reaches_only_dns_and_the_api_server() -> None:
    assert not named(render(ENABLED), "NetworkPolicy", UI)
    objects = render(ENABLED, NETWORK_POLICY)
    (policy,) = named(objects, "NetworkPolicy", UI)
    assert (
        policy["spec"]["podSelector"]["matchLabels"] == deployment(objects)["spec"]["selector"]["matchLabels"]
    )
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]  # any source
    egress_ports = sorted({p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]})
    assert egress_ports == [53, 443, 6443]
    proxy = [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "oauth2-proxy"}}}]
    narrowed = render(
        f'ui={{"enabled":true,"networkPolicy":{{"ingressFrom":{json.dumps(proxy)}}}}}',
        'networkPolicy={"enabled":true,"apiServer":{"cidrs":["10.0.0.1/32"],"ports":[443]}}',
    )
    (policy,) = named(narrowed, "NetworkPolicy", UI)
    assert policy["spec"]["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}], "from": proxy}]
    assert {"ports": [{"port": 443, "protocol": "TCP"}], "to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}]} in (
        policy["spec"]["egress"]
    )


# -- lint, schema validation, checkov --------------------------------------------------------------

EVERY_MODE = [
    [ENABLED],
    [ACTIONS, NETWORK_POLICY],
    [NAMESPACES, 'rbac={"create":false}'],
    [IMPERSONATION, NETWORK_POLICY, 'watchNamespaces=["team-a"]'],
    ['ui={"enabled":true,"impersonation":{"enabled":true,"allowAnyUser":true},' + PROXY + "}"],
]
MODE_IDS = ["read-only", "actions", "namespaced-no-rbac", "impersonation", "any-user"]


@pytest.mark.parametrize("sets", EVERY_MODE, ids=MODE_IDS)
def test_helm_lint_strict_with_the_ui(sets: list[str]) -> None:
    args = [helm(), "lint", "--strict", str(CHART)]
    for value in sets:
        args += ["--set-json", value]
    assert "0 chart(s) failed" in run(args)


@pytest.mark.parametrize("sets", EVERY_MODE, ids=MODE_IDS)
def test_rendered_ui_manifests_pass_kubernetes_validate_strict(sets: list[str]) -> None:
    out = run(
        [venv_tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "-"], input=template(*sets)
    )
    assert "ERROR" not in out
    passed = [line for line in out.splitlines() if " passed for resource " in line]
    validated = {line.split(" passed for resource ")[1].split(" against")[0] for line in passed}
    assert {f"deployment/{UI}", f"service/{UI}", f"serviceaccount/{UI}"} <= validated


@pytest.mark.parametrize(
    "values",
    [
        {"ui": {"enabled": True, "actions": {"enabled": True}}, "networkPolicy": {"enabled": True}},
        {
            "ui": {
                "enabled": True,
                "namespaces": ["team-a"],
                "impersonation": {
                    "enabled": True,
                    "users": ["alice"],
                    "groupsHeader": "X-Forwarded-Groups",
                    "groups": ["baton-users"],
                },
                **json.loads("{" + PROXY + "}"),
            }
        },
    ],
    ids=["actions", "impersonation"],
)
def test_checkov_finds_nothing_in_the_ui_beyond_the_justified_skips(values: Obj, tmp_path: Path) -> None:
    checkov = tool(TOOLS / "checkov-venv" / "bin" / "checkov", "run `make tools` (checkov in its own venv)")
    env = {**os.environ, "PATH": f"{Path(helm()).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    var_file = tmp_path / "values.json"  # JSON is YAML: checkov passes it to helm as --values
    var_file.write_text(json.dumps(values))
    out = run(
        [
            checkov, "-d", str(CHART), "--framework", "helm", "--skip-download", "--compact",
            "--config-file", str(CHART / ".checkov.yaml"), "--var-file", str(var_file), "--output", "json",
        ],
        env=env,
    )  # fmt: skip
    report = json.loads(out)
    assert isinstance(report, dict) and "summary" in report, f"checkov ran no helm check: {out[:2000]}"
    assert report["summary"]["failed"] == 0, json.dumps(report["results"]["failed_checks"], indent=1)[:5000]
    checked = {check["resource"].rsplit(".", 1)[-1] for check in report["results"]["passed_checks"]}
    # It rendered the chart with these values: the UI's Deployment and RBAC were checked.
    assert {"release-name-baton-ui", "release-name-baton-ui-impersonate"} & checked, sorted(checked)
    skipped = {(c["check_id"], c["resource"]) for c in report["results"].get("skipped_checks", [])}
    assert not {s for s in skipped if "baton-ui" in s[1]} - {
        ("CKV2_K8S_3", "ClusterRoleBinding.default.release-name-baton-ui-impersonate")
    }


@pytest.mark.parametrize("values", [ENABLED, ACTIONS, NAMESPACES, IMPERSONATION])
def test_its_args_are_what_baton_ui_accepts(values: str) -> None:
    """The Deployment's command line, parsed by `baton`'s own parser: a renamed flag fails here, not in
    a crash-looping Pod."""
    from baton.cli.main import build_parser

    args = args_of(render(values))
    parsed = build_parser().parse_args(args)
    assert parsed.command == "ui" and parsed.address == "0.0.0.0"
    assert parsed.read_only is (values != ACTIONS)
    if values == IMPERSONATION:
        assert parsed.impersonate_user_header == "X-Forwarded-User"


def test_impersonation_needs_the_proxy_as_the_only_source_and_always_gets_a_network_policy() -> None:
    """The UI believes the proxy's user header: whoever else reaches its port could name any user."""
    unfenced = 'ui={"enabled":true,"impersonation":{"enabled":true,"users":["alice"]}}'
    assert "needs ui.networkPolicy.ingressFrom" in fails(unfenced)
    objects = render(IMPERSONATION)  # networkPolicy.enabled is not set: impersonation turns it on
    (policy,) = named(objects, "NetworkPolicy", UI)
    (ingress,) = policy["spec"]["ingress"]
    assert ingress["from"] == [{"podSelector": {"matchLabels": {"app": "oauth2-proxy"}}}]


def test_allowed_hosts_add_to_the_services_names() -> None:
    args = args_of(
        render('ui={"enabled":true,"allowedHosts":["baton.example.com"],"clusterDomain":"corp.local"}')
    )
    hosts = [a.removeprefix("--allowed-host=") for a in args if a.startswith("--allowed-host=")]
    assert hosts == [
        UI,
        f"{UI}.{NAMESPACE}",
        f"{UI}.{NAMESPACE}.svc",
        f"{UI}.{NAMESPACE}.svc.corp.local",
        "baton.example.com",
    ]
    assert "allowedHosts" in fails('ui={"enabled":true,"allowedHosts":["http://x"]}')  # a name, not a URL
