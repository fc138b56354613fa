"""The demo app `user` kept in a real Git repository on the sandbox's Git host, as a platform
team would have written it (comments, a flow map, a quoted image), and an Argo CD Application
in the sandbox that reads it (self-heal on)."""
from __future__ import annotations

import difflib

from kubernetes import client

from .gitops import AUTOMATED
from .world import NS

REPO = "platform/deploy"
DEPLOYMENT = f"""# user: the stable version. graybot writes each successful release here.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: user-v1        # APP-VERSION, as graybot names them
  namespace: {NS}
  labels: {{app: user, version: v1, app.kubernetes.io/instance: user}}
spec:
  replicas: 10   # sized for the morning peak
  selector:
    matchLabels:
      app: user
      version: v1
  template:
    metadata:
      labels:
        app: user
        version: v1
    spec:
      containers:
        - name: user
          image: "nginx:user-v1"   # pinned by release
          ports:
            - containerPort: 80
"""
SERVICE = f"""apiVersion: v1
kind: Service
metadata:
  name: user
  namespace: {NS}
  labels:
    app: user
    app.kubernetes.io/instance: user
spec:
  selector:
    app: user     # every version behind one Service
  ports:
    - {{name: http, port: 80, targetPort: 80}}
"""
FILES = {"apps/user/deployment.yaml": DEPLOYMENT, "apps/user/service.yaml": SERVICE,
         "apps/pay/deployment.yaml": "# another team's app\n", "README.md": "deploy repo\n"}


def git_managed(git_host, kube) -> str:
    """Put `user` in the Git repository and under an Application reading it; the repo's URL."""
    git_host.repos.create(REPO, FILES)
    core, apps, objects = client.CoreV1Api(kube), client.AppsV1Api(kube), client.CustomObjectsApi(kube)
    label = {"metadata": {"labels": {"app.kubernetes.io/instance": "user"}}}
    apps.patch_namespaced_deployment("user-v1", NS, label)
    core.patch_namespaced_service("user", NS, label)
    core.create_namespace({"metadata": {"name": "argocd"}})
    objects.create_namespaced_custom_object("argoproj.io", "v1alpha1", "argocd", "applications", {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "user"},
        "spec": {"destination": {"namespace": NS},
                 "source": {"repoURL": git_host.repo_url(REPO), "path": "apps/user", "targetRevision": "main"},
                 "syncPolicy": {"automated": dict(AUTOMATED)}}})
    return git_host.repo_url(REPO)


def sync_status(kube) -> dict:
    app = client.CustomObjectsApi(kube).get_namespaced_custom_object("argoproj.io", "v1alpha1", "argocd",
                                                                     "applications", "user")
    return (app.get("status") or {}).get("sync") or {}


def changed_lines(before: str, after: str) -> list[str]:
    """The lines a diff removes (-) and adds (+), in order."""
    return [line.rstrip("\n") for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


RELEASED = ["-  name: user-v1        # APP-VERSION, as graybot names them",
            "-  labels: {app: user, version: v1, app.kubernetes.io/instance: user}",
            "-      version: v1", "-        version: v1",
            '-          image: "nginx:user-v1"   # pinned by release',
            "+  name: user-v2        # APP-VERSION, as graybot names them",
            "+  labels: {app: user, version: v2, app.kubernetes.io/instance: user}",
            "+      version: v2", "+        version: v2",
            '+          image: "nginx:user-v2"   # pinned by release']
