"""`--sticky` on the gateway router through the HTTPRoute rule's own `sessionPersistence`, where
the HTTPRoute CRD serves it: graybot reads the CRD's schema to write the shape it serves (v1.6's
`sessionName`/`cookieConfig`, or gateway-api main's `cookie.name`), and the sandbox's data plane
keeps each of 800 visitors on the version it first got; on the standard channel's CRD (no such
field) the cookie rules of before are used."""
from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes import client

from bot.domain.model import Phase
from sandbox.crds import httproute_crd
from sandbox.seed import apps_yaml
from tests.kit.world import NS, demo_world

CRD = "httproutes.gateway.networking.k8s.io"


def world_with_crd(sandbox, kube, redis_client, tmp_path, shape: str):
    doc = apps_yaml()
    doc["apps"]["user"].update(router="gateway")
    w = demo_world(sandbox, kube, redis_client, tmp_path, doc)
    objects = client.CustomObjectsApi(kube)
    current = objects.get_cluster_custom_object("apiextensions.k8s.io", "v1", "customresourcedefinitions", CRD)
    wanted = dict(httproute_crd(shape), metadata=dict(current["metadata"], **httproute_crd(shape)["metadata"]))
    objects.replace_cluster_custom_object("apiextensions.k8s.io", "v1", "customresourcedefinitions", CRD, wanted)
    w.http, w.url = urllib3.PoolManager(), sandbox.url
    return w


def visitors(w, n=4000, users=800) -> dict:
    resp = w.http.request("GET", w.url + "/sandbox/traffic", fields={"n": str(n), "users": str(users),
                                                                     "gateway": "public", "path": "/user"})
    return json.loads(resp.data)


@pytest.mark.parametrize("shape,persistence", [
    ("v1.6", {"type": "Cookie", "sessionName": "graybot-user", "absoluteTimeout": "24h",
              "cookieConfig": {"lifetimeType": "Permanent"}}),
    ("current", {"type": "Cookie", "absoluteTimeout": "24h",
                 "cookie": {"name": "graybot-user", "lifetimeType": "Permanent"}}),
])
def test_sticky_uses_the_rules_session_persistence_in_the_shape_the_crd_serves(sandbox, kube, redis_client,
                                                                               tmp_path, shape, persistence):
    w = world_with_crd(sandbox, kube, redis_client, tmp_path, shape)
    before = w.kube.httproute(NS, "user")
    r = w.engine.settle(w.start("canary user-v2 30% --sticky").id, timeout=30)
    assert (r.phase, r.current.weight) == (Phase.WAITING, 30)
    rules = w.kube.httproute(NS, "user")["spec"]["rules"]
    assert [x.get("name", "") for x in rules] == [before["spec"]["rules"][0].get("name", "")]   # no cookie rules
    assert rules[0]["sessionPersistence"] == persistence
    result = visitors(w)
    assert result["users"]["count"] == 800 and result["users"]["switched"] == 0       # each kept its version
    assert 20 <= 100 * result["users"]["first"].get("v2", 0) / 800 <= 40              # new visitors split 70/30
    w.act("rollback user")
    w.engine.settle(r.id, timeout=30)
    assert w.kube.httproute(NS, "user")["spec"] == before["spec"]


def test_the_standard_channel_crd_keeps_the_cookie_rules(sandbox, kube, redis_client, tmp_path):
    w = world_with_crd(sandbox, kube, redis_client, tmp_path, "standard")
    w.engine.settle(w.start("canary user-v2 30% --sticky").id, timeout=30)
    rules = w.kube.httproute(NS, "user")["spec"]["rules"]
    assert {"graybot-sticky-new", "graybot-sticky-old"} <= {x.get("name") for x in rules}
    assert not any("sessionPersistence" in x for x in rules)
    assert visitors(w)["users"]["switched"] == 0
