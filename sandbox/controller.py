"""The Deployment controller: one sync per Deployment per tick, with the real rules
(k/k pkg/controller/deployment: deployment_controller.go, rolling.go, recreate.go, sync.go,
progress.go). Writes go through the object store, so watches see every step."""
from __future__ import annotations

import copy
import time
from datetime import datetime, timezone

from . import rollout as R
from .objstore import ObjectStore, clone, now_rfc3339

DEPLOY, RS = ("apps", "deployments"), ("apps", "replicasets")


def _spec(rs: dict) -> int:
    return rs["spec"].get("replicas", 0)


def _stat(rs: dict, key: str) -> int:
    return (rs.get("status") or {}).get(key, 0)


class DeploymentController:
    RESYNC = 1.0     # seconds: an unchanged Deployment still rolling is looked at this often (its deadline)
    RESYNC_COMPLETE = 30.0   # and a complete one (no deadline pending), as an informer's resync would

    def __init__(self, store: ObjectStore):
        self.store = store
        self._settled: dict[str, tuple[tuple, float]] = {}   # uid -> (fingerprint, next sync at the latest)

    def sync_all(self) -> None:
        """Sync the Deployments that changed (they or their ReplicaSets) since their last
        sync, and every other one once per RESYNC: a pass costs by what moved, not by N."""
        now, seen = time.monotonic(), set()
        for deploy in self.store.peek(DEPLOY):
            uid = deploy["metadata"]["uid"]
            seen.add(uid)
            before = self._settled.get(uid)
            if before and before[0] == self._fingerprint(deploy) and now < before[1]:
                continue
            self.sync(clone(deploy))
            fresh = self.store.peek_one(DEPLOY, deploy["metadata"]["namespace"], deploy["metadata"]["name"])
            if fresh is not None:
                wait = self.RESYNC_COMPLETE if R.settled(fresh) else self.RESYNC
                self._settled[uid] = (self._fingerprint(fresh), now + wait)
        for uid in set(self._settled) - seen:
            del self._settled[uid]

    def _fingerprint(self, d: dict) -> tuple:
        return (d["metadata"]["resourceVersion"],
                tuple(rs["metadata"]["resourceVersion"] for rs in self.store.children(RS, d["metadata"]["uid"])))

    # -- the sync loop body (syncDeployment) -------------------------------------------
    def sync(self, d: dict) -> None:
        if not (d["spec"].get("selector") or {}).get("matchLabels") and \
                not (d["spec"].get("selector") or {}).get("matchExpressions"):
            return self._write_status(d, dict(d.get("status") or {},
                                              observedGeneration=d["metadata"]["generation"]))
        rss = self._owned(d)
        if d["metadata"].get("deletionTimestamp"):
            return self._sync_status(d, rss, None)
        self._check_paused_conditions(d)
        if d["spec"].get("paused") or self._scaling_event(d, rss):
            return self._sync_scale(d, rss)
        if d["spec"]["strategy"].get("type") == "Recreate":
            return self._rollout_recreate(d, rss)
        return self._rollout_rolling(d, rss)

    # -- ReplicaSet bookkeeping --------------------------------------------------------
    def _split(self, d: dict, rss: list[dict]) -> tuple[dict | None, list[dict]]:
        matches = sorted((rs for rs in rss if R.equal_ignore_hash(rs["spec"]["template"],
                                                                    d["spec"]["template"])),
                         key=lambda rs: rs["metadata"]["creationTimestamp"])
        new = matches[0] if matches else None
        olds = sorted((rs for rs in rss if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]),
                      key=lambda rs: (rs["metadata"]["creationTimestamp"], R.revision(rs)))
        return new, olds

    def _rs_annotations(self, d: dict, rs: dict, new_revision: int, replicas: int | None) -> dict:
        ann = {k: v for k, v in (d["metadata"].get("annotations") or {}).items()
               if k not in R.SKIPPED_ANNOTATIONS}
        old = rs["metadata"].get("annotations") or {}
        merged = dict(old, **ann)
        current = R.revision(rs)
        if current < new_revision:
            merged[R.REVISION] = str(new_revision)
            if current:
                history = [h for h in old.get(R.REVISION_HISTORY, "").split(",") if h]
                merged[R.REVISION_HISTORY] = ",".join(history + [str(current)])
        if replicas is not None:
            merged[R.DESIRED] = str(d["spec"]["replicas"])
            merged[R.MAX_REPLICAS] = str(d["spec"]["replicas"] + R.fenceposts(d)[0])
        return merged

    def _new_rs(self, d: dict, rss: list[dict], create: bool) -> tuple[dict | None, list[dict]]:
        """getAllReplicaSetsAndSyncRevision: find or create the new RS, sync revisions."""
        new, olds = self._split(d, rss)
        max_old = max((R.revision(rs) for rs in olds), default=0)
        if new is not None:
            ann = self._rs_annotations(d, new, max_old + 1, None)
            if ann != (new["metadata"].get("annotations") or {}):
                new["metadata"]["annotations"] = ann
                new = self.store.update(RS, new)
        elif create:
            new = self._create_rs(d, rss, max_old + 1)
        if new is not None:
            self._set_deploy_revision(d, R.revision(new))
        return new, olds

    def _create_rs(self, d: dict, rss: list[dict], rev: int) -> dict:
        template = copy.deepcopy(d["spec"]["template"])
        names = {rs["metadata"]["name"] for rs in rss}
        collisions = 0
        while (h := R.template_hash(template, collisions)) and f"{d['metadata']['name']}-{h}" in names:
            collisions += 1
        template["metadata"].setdefault("labels", {})[R.HASH_LABEL] = h
        selector = copy.deepcopy(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[R.HASH_LABEL] = h
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{d['metadata']['name']}-{h}",
                           "namespace": d["metadata"]["namespace"],
                           "labels": dict(template["metadata"]["labels"]),
                           "ownerReferences": [R.owner_ref(d)], "generation": 1},
              "spec": {"replicas": 0, "minReadySeconds": d["spec"].get("minReadySeconds", 0),
                       "selector": selector, "template": template},
              "status": {"replicas": 0, "observedGeneration": 0}}
        rs["metadata"]["annotations"] = self._rs_annotations(d, rs, rev, 0)
        rs = self.store.create(RS, rs)
        self._progress(d, "True", "NewReplicaSetCreated", f'Created new replica set "{rs["metadata"]["name"]}"')
        return rs

    def _set_deploy_revision(self, d: dict, rev: int) -> None:
        ann = d["metadata"].setdefault("annotations", {})
        if ann.get(R.REVISION) != str(rev):
            ann[R.REVISION] = str(rev)
            fresh = self.store.get(DEPLOY, d["metadata"]["namespace"], d["metadata"]["name"])
            fresh["metadata"].setdefault("annotations", {})[R.REVISION] = str(rev)
            d["metadata"]["resourceVersion"] = self.store.update(DEPLOY, fresh)["metadata"]["resourceVersion"]

    def _scale(self, d: dict, rs: dict, replicas: int) -> bool:
        ann = self._rs_annotations(d, rs, 0, replicas)
        if _spec(rs) == replicas and ann == rs["metadata"].get("annotations"):
            return False
        changed = _spec(rs) != replicas
        rs["spec"]["replicas"] = replicas
        rs["metadata"]["annotations"] = ann
        rs["metadata"]["generation"] = rs["metadata"].get("generation", 1) + changed
        rs.update(self.store.update(RS, rs))
        return changed

    # -- strategies --------------------------------------------------------------------
    def _scaling_event(self, d: dict, rss: list[dict]) -> bool:
        want = str(d["spec"]["replicas"])
        return any(_spec(rs) > 0 and (rs["metadata"].get("annotations") or {}).get(R.DESIRED) != want
                   for rs in rss)

    def _sync_scale(self, d: dict, rss: list[dict]) -> None:
        new, olds = self._new_rs(d, rss, create=False)
        active = [rs for rs in ([new] if new else []) + olds if _spec(rs) > 0]
        want = d["spec"]["replicas"]
        if len(active) <= 1:
            target = active[0] if active else new
            if target is not None:
                self._scale(d, target, want)
        elif new is not None and _spec(new) == want:
            for rs in olds:
                self._scale(d, rs, 0)
        else:
            allowed = want + R.fenceposts(d)[0]
            total = sum(_spec(rs) for rs in active)
            sizes = [_spec(rs) * allowed // total for rs in active]
            sizes[0] += allowed - sum(sizes)
            for rs, size in zip(active, sizes):
                self._scale(d, rs, size)
        self._sync_status(d, self._owned(d), new)

    def _rollout_recreate(self, d: dict, rss: list[dict]) -> None:
        new, olds = self._new_rs(d, rss, create=False)
        if any(self._scale(d, rs, 0) for rs in [rs for rs in olds if _spec(rs) > 0]):
            return self._sync_status(d, self._owned(d), new)
        if any(_stat(rs, "replicas") > 0 for rs in olds):
            return self._sync_status(d, self._owned(d), new)
        if new is None:
            new, olds = self._new_rs(d, self._owned(d), create=True)
        self._scale(d, new, d["spec"]["replicas"])
        self._finish(d, new)

    def _rollout_rolling(self, d: dict, rss: list[dict]) -> None:
        new, olds = self._new_rs(d, rss, create=True)
        if self._reconcile_new(d, new, olds) or self._reconcile_olds(d, new, olds):
            return self._sync_status(d, self._owned(d), new)
        self._finish(d, new)

    def _reconcile_new(self, d: dict, new: dict, olds: list[dict]) -> bool:
        want = d["spec"]["replicas"]
        if _spec(new) == want:
            return False
        if _spec(new) > want:
            return self._scale(d, new, want)
        surge = R.fenceposts(d)[0]
        total = _spec(new) + sum(_spec(rs) for rs in olds)
        room = max(0, want + surge - total)
        return self._scale(d, new, _spec(new) + min(room, want - _spec(new)))

    def _reconcile_olds(self, d: dict, new: dict, olds: list[dict]) -> bool:
        if sum(_spec(rs) for rs in olds) == 0:
            return False
        want = d["spec"]["replicas"]
        min_available = want - R.fenceposts(d)[1]
        all_specs = _spec(new) + sum(_spec(rs) for rs in olds)
        new_unavailable = _spec(new) - _stat(new, "availableReplicas")
        budget = all_specs - min_available - new_unavailable
        if budget <= 0:
            return False
        scaled = False
        for rs in olds:  # cleanupUnhealthyReplicas: oldest first
            unhealthy = _spec(rs) - _stat(rs, "availableReplicas")
            if budget <= 0 or unhealthy <= 0:
                continue
            cut = min(budget, unhealthy)
            scaled |= self._scale(d, rs, _spec(rs) - cut)
            budget -= cut
        available = _stat(new, "availableReplicas") + sum(_stat(rs, "availableReplicas") for rs in olds)
        remaining = available - min_available
        for rs in olds:  # scaleDownOldReplicaSetsForRollingUpdate
            if remaining <= 0:
                break
            cut = min(_spec(rs), remaining)
            if cut > 0:
                scaled |= self._scale(d, rs, _spec(rs) - cut)
                remaining -= cut
        return scaled

    def _finish(self, d: dict, new: dict | None) -> None:
        owned = self._owned(d)
        status = self._sync_status(d, owned, new)
        if status and R.complete(d, status):
            self._cleanup(d, [rs for rs in owned if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]])

    def _cleanup(self, d: dict, olds: list[dict]) -> None:
        limit = d["spec"].get("revisionHistoryLimit", 10)
        spare = sorted((rs for rs in olds if _spec(rs) == 0 and _stat(rs, "replicas") == 0),
                       key=R.revision)
        for rs in spare[:max(0, len(spare) - limit)]:
            self.store.delete(RS, rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _owned(self, d: dict) -> list[dict]:
        return [clone(rs) for rs in self.store.children(RS, d["metadata"]["uid"])]

    # -- status and conditions ---------------------------------------------------------
    def _check_paused_conditions(self, d: dict) -> None:
        cond = R.condition(d.get("status") or {}, "Progressing")
        paused_cond = cond is not None and cond["reason"] == "DeploymentPaused"
        if d["spec"].get("paused") and not paused_cond:
            self._progress(d, "Unknown", "DeploymentPaused", "Deployment is paused")
        elif not d["spec"].get("paused") and paused_cond:
            self._progress(d, "Unknown", "DeploymentResumed", "Deployment is resumed")

    def _progress(self, d: dict, value: str, reason: str, message: str) -> None:
        status = copy.deepcopy(d.get("status") or {})
        R.set_condition(status, "Progressing", value, reason, message, now_rfc3339())
        self._write_status(d, status)

    def _sync_status(self, d: dict, rss: list[dict], new: dict | None) -> dict | None:
        old = d.get("status") or {}
        status = copy.deepcopy(old)
        want = d["spec"]["replicas"]
        status.update(observedGeneration=d["metadata"]["generation"],
                      replicas=sum(_stat(rs, "replicas") for rs in rss),
                      updatedReplicas=_stat(new, "replicas") if new else 0,
                      readyReplicas=sum(_stat(rs, "readyReplicas") for rs in rss),
                      availableReplicas=sum(_stat(rs, "availableReplicas") for rs in rss))
        status["unavailableReplicas"] = max(0, sum(_spec(rs) for rs in rss) - status["availableReplicas"])
        for key in ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas"):
            if not status[key]:
                status.pop(key)  # the apiserver omits zero counts (omitempty)
        now = now_rfc3339()
        min_available = want - R.fenceposts(d)[1]
        if status.get("availableReplicas", 0) >= min_available:
            R.set_condition(status, "Available", "True", "MinimumReplicasAvailable",
                            "Deployment has minimum availability.", now)
        else:
            R.set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                            "Deployment does not have minimum availability.", now)
        self._progress_condition(d, old, status, new, now)
        self._write_status(d, status)
        return status

    def _progress_condition(self, d: dict, old: dict, status: dict, new: dict | None, now: str) -> None:
        if d["spec"].get("paused") or new is None:
            return
        cond = R.condition(status, "Progressing")
        if cond and cond["reason"] == "DeploymentPaused":
            return
        name = new["metadata"]["name"]
        if R.complete(d, status):
            R.set_condition(status, "Progressing", "True", "NewReplicaSetAvailable",
                            f'ReplicaSet "{name}" has successfully progressed.', now)
        elif R.progressing(old, status):
            R.set_condition(status, "Progressing", "True", "ReplicaSetUpdated",
                            f'ReplicaSet "{name}" is progressing.', now, touch=True)
        elif cond and self._timed_out(d, cond):
            R.set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded",
                            f'ReplicaSet "{name}" has timed out progressing.', now)

    @staticmethod
    def _timed_out(d: dict, cond: dict) -> bool:
        if cond["reason"] in ("ProgressDeadlineExceeded", "NewReplicaSetAvailable"):
            return False
        updated = datetime.strptime(cond["lastUpdateTime"], "%Y-%m-%dT%H:%M:%SZ")
        elapsed = time.time() - updated.replace(tzinfo=timezone.utc).timestamp()
        return elapsed > d["spec"].get("progressDeadlineSeconds", 600)

    def _write_status(self, d: dict, status: dict) -> None:
        fresh = self.store.get(DEPLOY, d["metadata"]["namespace"], d["metadata"]["name"])
        if fresh is None or fresh.get("status") == status:
            d["status"] = status
            return
        fresh["status"] = status
        saved = self.store.update(DEPLOY, fresh)
        d["status"], d["metadata"]["resourceVersion"] = status, saved["metadata"]["resourceVersion"]
