"""API paths of the objects the operator reads and writes."""

from __future__ import annotations

from baton import GROUP, VERSION


def runs_path(namespace: str, name: str | None = None, status: bool = False) -> str:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/pipelineruns"
    if name:
        path += f"/{name}"
    return path + "/status" if status else path


def jobs_path(namespace: str | None, name: str | None = None) -> str:
    """Jobs of one namespace (or of all, for `namespace` None), or one of them."""
    path = f"/apis/batch/v1/namespaces/{namespace}/jobs" if namespace else "/apis/batch/v1/jobs"
    return f"{path}/{name}" if name else path


def pipelines_path(namespace: str, name: str) -> str:
    """A Pipeline's status subresource."""
    return f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/pipelines/{name}/status"


def datasets_path(namespace: str, name: str | None = None, status: bool = False) -> str:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/datasets"
    if name:
        path += f"/{name}"
    return path + "/status" if status else path
