{{/* Chart name, overridable. */}}
{{- define "baton.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name, prefixed by the chart name unless it contains it. */}}
{{- define "baton.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "baton.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "baton.labels" -}}
helm.sh/chart: {{ include "baton.chart" . }}
{{ include "baton.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: baton
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the operator's Pod (immutable in the Deployment: never add to these). */}}
{{- define "baton.selectorLabels" -}}
app.kubernetes.io/name: {{ include "baton.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "baton.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "baton.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest when a digest is given, else repository:tag (tag defaults to appVersion). */}}
{{- define "baton.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The rules the operator needs in every namespace it watches: a ClusterRole's when it watches all
namespaces, each Role's otherwise. Each rule is there for a request the operator makes (see
operator/baton/controller/); `get` rides along with `list` where it is granted, as it reveals nothing
`list` does not.
*/}}
{{- define "baton.namespacedRules" -}}
# kopf lists and watches Pipelines (@kopf.on.event); the operator reads them from that cache.
- apiGroups: ["baton.dev"]
  resources: ["pipelines"]
  verbs: ["get", "list", "watch"]
# kopf lists and watches PipelineRuns; the reconciler GETs a run again after a 409 on its status patch.
# patch: once per run created without the baton.dev/pipeline label (kubectl create of a hand-written run),
# to add it, so that `kubectl get pipelineruns -l baton.dev/pipeline=NAME` finds every run; and
# spec.cancel of a scheduled run that a newer slot replaces (schedule.concurrencyPolicy: Replace).
# create: one run per slot of a Pipeline's schedule (named from the slot: a second create is a 409).
# delete: finished runs past the Pipeline's runHistory or their ttlSecondsAfterFinished.
- apiGroups: ["baton.dev"]
  resources: ["pipelineruns"]
  verbs: ["create", "delete", "get", "list", "watch", "patch"]
# Status writes are JSON merge patches on the status subresource only: the operator never changes a
# Pipeline's spec, nor a run's beyond that label and a Replace's cancel.
- apiGroups: ["baton.dev"]
  resources: ["pipelines/status", "pipelineruns/status"]
  verbs: ["patch"]
# Datasets: watched for their freshness expectation; created the first time a task writes, reads or
# checks a URI (named from the URI: a second create is a 409, then a get); their status patched with a
# resourceVersion precondition to record what the runs did and whether they are fresh. Never deleted.
- apiGroups: ["baton.dev"]
  resources: ["datasets"]
  verbs: ["create", "get", "list", "watch"]
- apiGroups: ["baton.dev"]
  resources: ["datasets/status"]
  verbs: ["patch"]
# Each Job's ownerReference to its PipelineRun sets blockOwnerDeletion: true; where the
# OwnerReferencesPermissionEnforcement admission plugin is on (OpenShift, hardened clusters), that
# needs update on the owner's finalizers subresource. The operator itself never touches finalizers.
- apiGroups: ["baton.dev"]
  resources: ["pipelineruns/finalizers"]
  verbs: ["update"]
# One Job per task attempt: created once (a 409 adopts the existing one), deleted on cancel or
# timeout, watched by label. Never updated or patched. deletecollection: the Jobs of a wide forEach
# task's instances whose success the run's status records, by a label selector that names the run,
# the task and the instances (up to 200 a request).
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["create", "delete", "deletecollection", "get", "list", "watch"]
# A run's workspace claims (volumeClaimTemplate): created once per run (a 409 is checked to be the
# run's own with a get), and patched only to add a retry run as a second owner of the claim it reuses.
# Never deleted by the operator: garbage collection removes a claim with its last owning run.
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["create", "get", "patch"]
# The tasks' Pods are watched (by Baton's run label) for exit codes, reasons and termination
# messages, which the Job does not carry. Read-only; no pods/log.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
# Events on Pipelines, PipelineRuns and Datasets. The recorder aggregates in-process and only ever creates.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}

{{/* The web UI's full name: its Deployment, Service, ServiceAccount and RBAC. */}}
{{- define "baton.ui.fullname" -}}
{{- printf "%s-ui" (include "baton.fullname" . | trunc 60 | trimSuffix "-") }}
{{- end }}

{{/*
Labels on the UI's objects. Its own app.kubernetes.io/name: the operator's selector (name and instance)
must not match the UI's Pods, nor the UI's selector the operator's.
*/}}
{{- define "baton.ui.labels" -}}
helm.sh/chart: {{ include "baton.chart" . }}
{{ include "baton.ui.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: baton
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the UI's Pods (immutable in the Deployment: never add to these). */}}
{{- define "baton.ui.selectorLabels" -}}
app.kubernetes.io/name: {{ include "baton.name" . }}-ui
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: ui
{{- end }}

{{/* The namespaces the UI shows: its own list, else the operator's; empty for every namespace. */}}
{{- define "baton.ui.namespaces" -}}
{{- toJson (.Values.ui.namespaces | default .Values.watchNamespaces | default list) }}
{{- end }}

{{/* Values that cannot work together fail the rendering, with what to change. */}}
{{- define "baton.ui.validate" -}}
{{- with .Values.ui }}
{{- if and .actions.enabled (gt (int .replicas) 1) }}
{{- fail "ui.actions.enabled needs ui.replicas: 1: an action form's token is accepted only by the UI process that served the page" }}
{{- end }}
{{- if .impersonation.enabled }}
{{- if not .impersonation.userHeader }}
{{- fail "ui.impersonation.enabled needs ui.impersonation.userHeader: the request header in which the authenticating proxy names the user" }}
{{- end }}
{{- if and $.Values.rbac.create (not .impersonation.users) (not .impersonation.allowAnyUser) }}
{{- fail "ui.impersonation.enabled needs ui.impersonation.users (the user names the UI may impersonate) or ui.impersonation.allowAnyUser: true; with neither, the API server would refuse every request" }}
{{- end }}
{{- if and .impersonation.groupsHeader (not .impersonation.groups) $.Values.rbac.create }}
{{- fail "ui.impersonation.groupsHeader needs ui.impersonation.groups (the groups the UI may impersonate); with none, every request naming a group would be refused" }}
{{- end }}
{{- if and .impersonation.groups (not .impersonation.groupsHeader) }}
{{- fail "ui.impersonation.groups needs ui.impersonation.groupsHeader: without it the UI never impersonates a group" }}
{{- end }}
{{- if not .networkPolicy.ingressFrom }}
{{- fail "ui.impersonation.enabled needs ui.networkPolicy.ingressFrom (the authenticating proxy's Pods): whoever can reach the UI's port can name any user it may impersonate, so with impersonation the chart always adds the UI's NetworkPolicy, and only the proxy may be let in" }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The UI ServiceAccount's rules in each namespace it shows, without impersonation (with it, the user's
own RBAC applies instead). Read-only unless ui.actions.enabled, and exactly the verbs its requests
use: a watch of Pods would hand their specs (env included) to the UI's token for nothing.
*/}}
{{- define "baton.ui.rules" -}}
# The overview lists Pipelines and PipelineRuns; a run's page GETs the run and, before it started, its
# Pipeline, and its live updates watch that one run; a Pipeline's page lists its runs by label.
- apiGroups: ["baton.dev"]
  resources: ["pipelines"]
  verbs: ["get", "list"]
- apiGroups: ["baton.dev"]
  resources: ["pipelineruns"]
  {{- if .Values.ui.actions.enabled }}
  # ui.actions.enabled: run and retry create a PipelineRun; cancel, suspend and resume merge-patch its
  # spec (and annotate who asked). Never delete, and never the status.
  verbs: ["get", "list", "watch", "create", "patch"]
  {{- else }}
  verbs: ["get", "list", "watch"]
  {{- end }}
# A run's page lists the run's Events (by the run's name, kind and uid).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["list"]
# A task's log: the UI lists the run's Pods by Baton's labels to find the attempt's Pod, then reads (or
# follows) its log; pods/log serves get only. No pods/exec, no Secrets.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
{{- end }}
