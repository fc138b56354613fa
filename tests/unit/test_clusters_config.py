"""apps.yaml `clusters:`: cluster specs, where each app runs, its waves and per-cluster overrides;
every mistake listed at once; and the wave options of the grammar."""
from __future__ import annotations

import pytest

from bot.domain.apps import ConfigError, parse_registry
from bot.language.errors import UsageError
from bot.language.grammar import parse

APP = {"image": "r/user:{version}"}


def doc(**user) -> dict:
    return {"clusters": {"staging": {"kubeconfig": "kube.yaml", "context": "staging"},
                         "prod": {"in_cluster": True}},
            "apps": {"user": dict(APP, **user), "pay": {"image": "r/pay:{version}"}}}


def test_clusters_waves_and_overrides_are_read(tmp_path):
    reg = parse_registry(doc(clusters={"staging": None, "prod": {"namespace": "shop", "replicas": 4,
                                                                  "router": "gateway"}},
                             waves=["staging", "prod"]), tmp_path)
    assert reg.clusters["staging"].kubeconfig == str(tmp_path / "kube.yaml")     # relative to apps.yaml
    assert reg.clusters["prod"].in_cluster and reg.explicit_clusters
    user = reg["user"]
    assert user.clusters == ("staging", "prod") and user.placement.waves == ("staging", "prod")
    assert (user.at("prod").namespace, user.at("prod").replicas, user.at("prod").router) == ("shop", 4, "gateway")
    assert user.at("staging") == user
    assert reg["pay"].clusters == ("staging",)          # unplaced: the first cluster


def test_without_a_clusters_section_there_is_one_default_cluster():
    reg = parse_registry({"apps": {"user": APP}})
    assert list(reg.clusters) == ["default"] and reg["user"].clusters == ("default",)
    assert not reg.explicit_clusters


def test_every_cluster_mistake_is_listed_at_once():
    bad = doc(clusters={"staging": {}, "moon": {}, "prod": {"replicas": 0, "namespce": "x", "router": "ftp",
                                                                       "approvers": "U0SRE"}},
              waves=["staging", "mars"])
    bad["clusters"]["broken"] = {"kubeconfig": "a", "in_cluster": True}
    bad["clusters"]["Bad_Name"] = {"in_cluster": True}
    bad["clusters"]["empty"] = {}
    bad["clusters"]["slow"] = {"in_cluster": True, "timeout": "soon", "prometheus": "prom:9090"}
    with pytest.raises(ConfigError) as err:
        parse_registry(bad)
    text = "\n".join(err.value.problems)
    for expected in ("apps.user.clusters: 'moon' is not in clusters:", "apps.user.waves: 'mars' is not in clusters:",
                     "apps.user.clusters.prod.replicas: must be a whole number 1-1000",
                     "unknown key 'namespce'; did you mean 'namespace'?", "router: 'ftp' is not one of",
                     "clusters.broken: give kubeconfig or in_cluster: true, not both",
                     "clusters.Bad_Name: cluster names must be DNS-1123 labels",
                     "clusters.empty: needs kubeconfig: PATH",
                     "apps.user.clusters.prod.approvers: must be a list of IDs", "clusters.slow.timeout: 'soon' is not a duration",
                     "clusters.slow.prometheus: must be an http(s):// URL"):
        assert expected in text, text


def test_waves_must_be_clusters_of_the_app():
    with pytest.raises(ConfigError) as err:
        parse_registry(doc(clusters=["staging"], waves=["staging", "prod"]))
    assert "apps.user.waves: 'prod' is not one of the app's clusters (staging)" in str(err.value)


def test_the_grammar_reads_cluster_and_wave_options():
    cmd = parse("canary user-v2 10% --waves staging,prod --wave-every 2h", ["user"])
    assert (cmd.waves, cmd.wave_every, cmd.cluster) == (("staging", "prod"), 7200, None)
    assert parse("rolling user-v2 --cluster prod", ["user"]).cluster == "prod"
    rollback = parse("rollback user --all-waves --cluster prod", ["user"])
    assert (rollback.all_waves, rollback.cluster) == (True, "prod")
    assert parse("status user --cluster staging", ["user"]).cluster == "staging"
    assert parse("gitops-diff user --cluster prod", ["user"]).cluster == "prod"


@pytest.mark.parametrize("line, said", [
    ("canary user-v2 --cluster prod --waves staging,prod", "either --cluster NAME"),
    ("canary user-v2 --waves staging,staging", "a cluster is named twice"),
    ("canary user-v2 --waves Staging", "is not a cluster name"),
    ("canary user-v2 --cluster prod --wave-every 1h", "--wave-every is for --waves"),
    ("canary user-v2 --waves a,b --wave-every soon", "--wave-every"),
    ("rollback user --all-waves --batches", "do not go together"),
    ("approve user --cluster", "--cluster needs a value"),
    ("status --cluster prod", "status --cluster needs an APP"),
    ("gitops-diff --cluster prod", "APP missing"),
])
def test_wave_option_mistakes_are_refused_with_the_right_form(line, said):
    with pytest.raises(UsageError) as err:
        parse(line, ["user"])
    assert said in str(err.value)


def test_each_cluster_gets_its_own_client_and_timeout(tmp_path):
    import yaml

    from bot.adapters.clusters import Clusters
    from bot.adapters.kube import KubeError

    (tmp_path / "kube.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "staging",
        "clusters": [{"name": n, "cluster": {"server": f"http://127.0.0.1:{p}"}} for n, p in (("staging", 1), ("prod", 2))],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "u"}} for n in ("staging", "prod")]}))
    reg = parse_registry({"clusters": {"staging": {"kubeconfig": "kube.yaml", "context": "staging"},
                                       "prod": {"kubeconfig": "kube.yaml", "context": "prod", "timeout": "2s"}},
                          "apps": {"user": APP}}, tmp_path)
    clusters = Clusters.connect(reg.clusters, timeout=(3.0, 5.0))
    assert clusters["staging"].api.configuration.host == "http://127.0.0.1:1"
    assert clusters["prod"].api.configuration.host == "http://127.0.0.1:2"
    assert (clusters["staging"].timeout, clusters["prod"].timeout) == ((3.0, 5.0), (3.0, 2.0))
    assert clusters[""] is clusters["staging"]                  # records from before clusters
    reg.clusters["lost"] = type(reg.clusters["prod"])("lost", str(tmp_path / "kube.yaml"), "nowhere")
    with pytest.raises(KubeError, match="clusters.lost"):
        Clusters.connect(reg.clusters)
