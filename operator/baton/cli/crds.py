"""`baton crds print|check|apply`: the CRDs this build of Baton was made with, and the cluster's.

    baton crds print                 # this build's CRDs as YAML (what crds/ in its repository holds)
    baton crds check                 # exit 1 unless the cluster's CRDs are this build's
    baton crds apply                 # install or upgrade them, with server-side apply

The operator acts on nothing while the installed CRDs differ from the ones it was built with (an older
schema would silently prune the status fields a newer operator writes); `apply` is the fix it names,
and what the chart's opt-in CRD upgrade Job runs. Server-side apply, because the CRDs are larger than
the 256 KiB a client-side apply's last-applied annotation may hold; `--force-conflicts` semantics, since
the operator's build is the owner of these fields (another manager that wrote them, such as Helm's
install of the chart's `crds/`, is taken over instead of failing the upgrade).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from baton import __version__
from baton.api.crdgen import SCHEMA_ANNOTATION, all_crds, built_fingerprints, render
from baton.cli.kubeapi import EXIT_OK, CliError, add_connection_arguments, command, connect
from baton.core.crd_compat import UPGRADE_HOW, InstalledCrd, crd_verdict

FIELD_MANAGER = "baton"
APPLY = "application/apply-patch+yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="crds_command", metavar="SUBCOMMAND", required=True)
    printing = commands.add_parser("print", help="write this build's CRDs as YAML to stdout")
    printing.set_defaults(handler=print_main)
    for name, handler, help_text in (
        ("check", check_main, "exit 1 unless the cluster's CRDs are the ones this build was made with"),
        ("apply", apply_main, "install or upgrade the cluster's CRDs to this build's (server-side apply)"),
    ):
        sub = commands.add_parser(name, help=help_text)
        add_connection_arguments(sub)
        sub.set_defaults(handler=handler)


def print_main(args: argparse.Namespace) -> int:
    sys.stdout.write("---\n".join(render(crd) for crd in all_crds()))
    return EXIT_OK


def _api(args: argparse.Namespace) -> tuple[Any, Any]:
    from kubernetes import client

    connection = connect(args)
    return connection.api_client, client.ApiextensionsV1Api(connection.api_client)


def _installed(api: Any, name: str) -> InstalledCrd | None:
    from kubernetes.client.exceptions import ApiException

    try:
        crd = api.read_custom_resource_definition(name)
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return InstalledCrd.of(crd.metadata.annotations)


@command
def check_main(args: argparse.Namespace) -> int:
    api_client, api = _api(args)
    try:
        expected = built_fingerprints()
        verdict = crd_verdict(expected, {name: _installed(api, name) for name in expected}, __version__)
    finally:
        api_client.close()
    if not verdict.compatible:
        raise CliError(
            f"the cluster's Baton CRDs are not Baton {__version__}'s: {verdict.details}; {UPGRADE_HOW}"
        )
    print(f"the cluster's Baton CRDs are the ones Baton {__version__} was built with")
    return EXIT_OK


@command
def apply_main(args: argparse.Namespace) -> int:
    api_client, api = _api(args)
    try:
        for crd in all_crds():
            name = crd["metadata"]["name"]
            before = _installed(api, name)
            api.patch_custom_resource_definition(
                name,
                crd,
                field_manager=FIELD_MANAGER,
                force=True,
                _content_type=APPLY,
            )
            fingerprint = crd["metadata"]["annotations"][SCHEMA_ANNOTATION]
            if before is None:
                outcome = "created"
            elif before.schema == fingerprint:
                outcome = "unchanged"
            else:
                outcome = f"upgraded (schema {before.schema or 'none'} → {fingerprint})"
            print(f"customresourcedefinition.apiextensions.k8s.io/{name} {outcome}", flush=True)
    finally:
        api_client.close()
    return EXIT_OK
