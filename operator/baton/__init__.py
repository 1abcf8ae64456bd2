"""Baton: a Kubernetes-native data-pipeline orchestrator."""

__version__ = "0.1.0"

GROUP = "baton.dev"
VERSION = "v1alpha1"
