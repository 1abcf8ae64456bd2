"""What the kubectl-plugin commands share: connecting like kubectl, reading Baton objects, errors.

Connection: `--kubeconfig` (else `KUBECONFIG`, a `:`-separated list, else ~/.kube/config, else the
in-cluster service account), `--context` (else the current context) and `--namespace/-n` (else the
context's namespace, else "default"), as kubectl resolves them.

Errors are `CliError`s with the exit code to end with, and say what exists when something does not
("pipelinerun "x" not found in namespace "etl"; runs there: a, b"). Exit codes, as kubectl: 0 success,
1 an error or a failed run, 2 a usage error.

The `kubernetes` client is synchronous; the CLI is too, so it is used as is.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baton import GROUP, VERSION

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

RUNS = "pipelineruns"
PIPELINES = "pipelines"
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
MAX_LISTED = 10


class CliError(Exception):
    """An error to print (as `error: MESSAGE`) and exit with `code`."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """kubectl's flags for where to connect."""
    parser.add_argument("-n", "--namespace", help="namespace (default: the context's namespace)")
    parser.add_argument("--context", help="kubeconfig context to use (default: the current context)")
    parser.add_argument("--kubeconfig", help="path to the kubeconfig file (default: $KUBECONFIG)")


def command(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command's main: print errors kubectl-style on stderr and turn them into exit codes."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return fn(args)
        except CliError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return error.code
        except ApiException as error:
            print(f"error: {api_message(error)}", file=sys.stderr)
            return EXIT_FAILED
        except HTTPError as error:
            print(f"error: cannot reach the cluster: {error}", file=sys.stderr)
            return EXIT_FAILED
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED

    return run


NO_CRDS = "the Baton CRDs are not installed in this cluster: kubectl apply -f crds/ (from Baton's repository)"


def _body(error: Any) -> dict[str, Any]:
    try:
        body = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def resource_missing(error: Any) -> bool:
    """A 404 for the kind itself, not for an object of it: the API server does not serve that resource
    (for Baton's kinds: the CRDs are not installed). A missing object's 404 names the object."""
    return error.status == 404 and not (_body(error).get("details") or {}).get("name")


def closest(name: str, candidates: Sequence[str]) -> str | None:
    """The candidate most like ``name``; among equally close ones the first (runs are listed newest
    first, so a typo of a run name suggests the newest of the runs it could mean)."""
    best: tuple[float, int] | None = None
    for position, candidate in enumerate(candidates):
        score = round(difflib.SequenceMatcher(None, name, candidate).ratio(), 3)
        if score >= 0.6 and (best is None or score > best[0]):
            best = (score, position)
    return candidates[best[1]] if best is not None else None


def api_message(error: Any) -> str:
    """The API server's own message of an ApiException (its Status body), else its reason."""
    if resource_missing(error):
        return NO_CRDS  # the CLI's core and batch kinds are always served: the missing kind is Baton's
    message = _body(error).get("message")
    return str(message or f"{error.status} {error.reason}")


@dataclass
class Connection:
    api_client: Any
    namespace: str
    context: str | None


def connect(args: argparse.Namespace) -> Connection:
    """The API client and namespace for `--kubeconfig`, `--context` and `--namespace`, as kubectl."""
    from kubernetes import client
    from kubernetes import config as kube_config
    from kubernetes.config.config_exception import ConfigException

    config: Any = kube_config  # untyped
    kubeconfig = getattr(args, "kubeconfig", None) or os.environ.get("KUBECONFIG")
    context = getattr(args, "context", None)
    namespace = getattr(args, "namespace", None)
    default = Path("~/.kube/config").expanduser()
    if kubeconfig or default.exists() or context:
        path = kubeconfig or str(default)
        try:
            contexts, active = config.list_kube_config_contexts(config_file=path)
        except (ConfigException, OSError) as error:
            raise CliError(f"cannot load kubeconfig {path}: {error}") from None
        if context:
            chosen = next((c for c in contexts or () if c.get("name") == context), None)
            if chosen is None:
                names = ", ".join(sorted(c.get("name", "") for c in contexts or ())) or "none"
                raise CliError(f'context "{context}" not found in {path} (contexts: {names})')
        else:
            chosen = active
        try:
            api_client = config.new_client_from_config(config_file=path, context=context)
        except ConfigException as error:
            raise CliError(f"cannot load kubeconfig {path}: {error}") from None
        namespace = namespace or ((chosen or {}).get("context") or {}).get("namespace") or "default"
        return Connection(api_client, namespace, (chosen or {}).get("name"))
    try:
        config.load_incluster_config()
    except ConfigException:
        raise CliError(
            "no cluster to talk to: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config"
        ) from None
    if not namespace and SERVICE_ACCOUNT_NAMESPACE.exists():
        namespace = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    return Connection(client.ApiClient(), namespace or "default", None)


class KubeApi:
    """Baton objects, Jobs, Pods and logs in one namespace."""

    def __init__(self, connection: Connection) -> None:
        from kubernetes import client

        self.connection = connection
        self.namespace = connection.namespace
        # Typed as Any: the generated stubs type custom objects as `object` and raw responses as `str`.
        self.custom: Any = client.CustomObjectsApi(connection.api_client)
        self.core: Any = client.CoreV1Api(connection.api_client)
        self.batch: Any = client.BatchV1Api(connection.api_client)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> KubeApi:
        return cls(connect(args))

    def close(self) -> None:
        self.connection.api_client.close()

    # -- PipelineRuns and Pipelines ------------------------------------------------------------------

    def _get(self, plural: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            found: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name
            )
        except ApiException as error:
            if error.status == 404 and not resource_missing(error):
                return None
            raise
        return found

    def _list(self, plural: str) -> list[dict[str, Any]]:
        listed = self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, plural)
        items: list[dict[str, Any]] = listed.get("items") or []
        return items

    def find_run(self, name: str) -> dict[str, Any] | None:
        return self._get(RUNS, name)

    def find_pipeline(self, name: str) -> dict[str, Any] | None:
        return self._get(PIPELINES, name)

    def newest_run_of(self, pipeline: str) -> dict[str, Any] | None:
        """The newest run of a Pipeline (as `argo logs @latest`), None when it has none."""
        from baton.controller.cache import pipeline_of_run

        # A retry names no Pipeline, its status does (and its label): it is a run of that Pipeline too.
        return next((r for r in self.runs() if pipeline_of_run(r) == pipeline), None)

    def runs(self) -> list[dict[str, Any]]:
        """The namespace's runs, newest first."""
        return newest_first(self._list(RUNS))

    def pipelines(self) -> list[dict[str, Any]]:
        return sorted(self._list(PIPELINES), key=lambda p: p["metadata"]["name"])

    def get_run(self, name: str) -> dict[str, Any]:
        run = self.find_run(name)
        if run is None:
            raise self.unknown("pipelinerun", name, [r["metadata"]["name"] for r in self.runs()], "runs")
        return run

    def get_pipeline(self, name: str) -> dict[str, Any]:
        pipeline = self.find_pipeline(name)
        if pipeline is None:
            names = [p["metadata"]["name"] for p in self.pipelines()]
            raise self.unknown("pipeline", name, names, "Pipelines")
        return pipeline

    def unknown(self, kind: str, name: str, existing: Sequence[str], plural: str) -> CliError:
        """`kind "name" not found in namespace "ns"`, with what exists there instead."""
        message = f'{kind} "{name}" not found in namespace "{self.namespace}"'
        if not existing:
            return CliError(f"{message}; there are no {plural} in it")
        close = closest(name, existing)
        hint = f' (did you mean "{close}"?)' if close else ""
        shown = ", ".join(existing[:MAX_LISTED])
        more = f", … ({len(existing) - MAX_LISTED} more)" if len(existing) > MAX_LISTED else ""
        return CliError(f"{message}{hint}; {plural} there: {shown}{more}")

    def create_run(self, body: Mapping[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, RUNS, dict(body)
        )
        return created

    def patch_run(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        """Merge-patch a run's spec or metadata (the status belongs to the operator)."""
        patched: dict[str, Any] = self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, RUNS, name, dict(patch)
        )
        return patched

    def watch_run(
        self, name: str, timeout: float | None = None, idle: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The run as it is now, then every new version of it, until it is deleted or `timeout`.

        Watches reconnect from the last version seen when the server ends them (as they do every few
        minutes); a run deleted meanwhile ends the iteration. With `idle`, a watch that saw nothing for
        that many seconds yields the run as last seen again, so that the caller can tell the user.
        """
        import time

        from kubernetes import watch as kube_watch
        from kubernetes.client.exceptions import ApiException

        watch: Any = kube_watch  # untyped

        deadline = None if timeout is None else time.monotonic() + timeout
        run = self.get_run(name)
        yield run
        version = run["metadata"].get("resourceVersion")
        while deadline is None or time.monotonic() < deadline:
            left = 60 if deadline is None else max(1, min(60, int(deadline - time.monotonic()) + 1))
            if idle is not None:
                left = min(left, idle)
            seen = False
            watcher = watch.Watch()
            try:
                for event in watcher.stream(
                    self.custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    RUNS,
                    field_selector=f"metadata.name={name}",
                    resource_version=version,
                    timeout_seconds=left,
                ):
                    obj = event.get("object") or {}
                    if event.get("type") == "DELETED":
                        return
                    if event.get("type") in ("ADDED", "MODIFIED") and isinstance(obj, dict):
                        version = obj["metadata"].get("resourceVersion", version)
                        run, seen = obj, True
                        yield obj
                    if deadline is not None and time.monotonic() >= deadline:
                        return
            except ApiException as error:
                if error.status != 410:  # Gone: our version is too old; start again from now
                    raise
                run = self.get_run(name)
                version = run["metadata"].get("resourceVersion")
                yield run
                seen = True
            finally:
                watcher.stop()
            if idle is not None and not seen:
                yield run  # nothing happened for `idle` seconds

    # -- Jobs, Pods and logs -------------------------------------------------------------------------

    def jobs(self, selector: str) -> list[dict[str, Any]]:
        response = self.batch.list_namespaced_job(
            self.namespace, label_selector=selector, _preload_content=False
        )
        return sorted(_items(response), key=_created)

    def pods(self, selector: str) -> list[dict[str, Any]]:
        response = self.core.list_namespaced_pod(
            self.namespace, label_selector=selector, _preload_content=False
        )
        return sorted(_items(response), key=_created)

    def pod_log(self, pod: str, container: str | None, *, follow: bool) -> Iterator[bytes]:
        """The log of a Pod's container as it arrives (all of it, then more while `follow`)."""
        kwargs: dict[str, Any] = {"follow": follow, "_preload_content": False}
        if container:
            kwargs["container"] = container
        response = self.core.read_namespaced_pod_log(pod, self.namespace, **kwargs)
        try:
            yield from response.stream(64 * 1024, decode_content=True)
        finally:
            response.release_conn()

    def events(self, name: str, uid: str | None = None) -> list[dict[str, Any]]:
        selector = f"involvedObject.name={name}" + (f",involvedObject.uid={uid}" if uid else "")
        response = self.core.list_namespaced_event(
            self.namespace, field_selector=selector, _preload_content=False
        )
        return _items(response)


def _items(response: Any) -> list[dict[str, Any]]:
    body = json.loads(response.data or b"{}")
    items: list[dict[str, Any]] = body.get("items") or []
    return items


def _created(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))


def newest_first(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs by creation time, newest first. Creation times have second precision: within one second a
    retry comes before the run it retries (it was created after it), then names decide."""
    retry_of = {
        str((r.get("metadata") or {}).get("name")): (r.get("spec") or {}).get("retryOf") for r in runs
    }

    def depth(name: str) -> int:
        hops, seen, at = 0, {name}, retry_of.get(name)
        while isinstance(at, str) and at not in seen:
            seen.add(at)
            hops += 1
            at = retry_of.get(at)
        return hops

    def key(run: Mapping[str, Any]) -> tuple[str, int, str]:
        created, name = _created(run)
        return created, depth(name), name

    return sorted(runs, key=key, reverse=True)
