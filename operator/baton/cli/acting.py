"""The CLI's actions on runs, recording who asked (``baton.core.actors``).

The actor is whoever the API server says the credentials are (a SelfSubjectReview, as `kubectl auth
whoami`); on a cluster that does not serve it the action goes ahead unattributed. A change is a merge
patch with the run's resourceVersion as a precondition, so the generation it makes is known and
recorded; if the run changed meanwhile, it is read and decided again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from baton.cli.kubeapi import CliError, KubeApi
from baton.core.actors import CHANGE_TRIES, Verb, acted_patch, acted_run, change_pause
from baton.core.run_actions import ActionRefused, Change


def whoami(api: KubeApi) -> str | None:
    """The user name of the credentials in use; None when the cluster cannot say (older than 1.28, or
    the review is not allowed)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    review = client.V1SelfSubjectReview(api_version="authentication.k8s.io/v1", kind="SelfSubjectReview")
    try:
        answer = client.AuthenticationV1Api(api.connection.api_client).create_self_subject_review(review)
    except ApiException:
        return None
    info = getattr(getattr(answer, "status", None), "user_info", None)
    name = getattr(info, "username", None)
    return name if isinstance(name, str) and name else None


def create_as(api: KubeApi, body: Mapping[str, Any], verb: Verb) -> dict[str, Any]:
    """Create a run, annotated with who asked for it."""
    return api.create_run(acted_run(body, whoami(api), verb, datetime.now(UTC)))


def change_as(
    api: KubeApi, run: dict[str, Any], decide: Callable[[dict[str, Any]], Change], verb: Verb
) -> Change:
    """Apply ``decide(run)``'s patch, annotated with who asked, as of the run's version; on a conflict
    read the run and decide again. Returns the change made (its patch None: nothing to do)."""
    from kubernetes.client.exceptions import ApiException

    actor = whoami(api)
    for tries in range(CHANGE_TRIES):
        try:
            change = decide(run)
        except ActionRefused as refused:
            raise CliError(refused.message) from None
        if change.patch is None:
            return change
        try:
            api.patch_run(
                run["metadata"]["name"], acted_patch(change.patch, run, actor, verb, datetime.now(UTC))
            )
        except ApiException as error:
            if error.status != 409:
                raise
            time.sleep(change_pause(tries, random.random()))
            run = api.get_run(run["metadata"]["name"])
            continue
        return change
    raise CliError(f'pipelinerun "{run["metadata"]["name"]}" keeps changing: try again')
