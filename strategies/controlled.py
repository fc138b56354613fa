"""A release whose steps a progressive-delivery controller runs (an Argo Rollout): graybot sets the
new image where the controller expects it, then approves the controller's own pauses.

The release's stages are the controller's indefinite pauses (`pause: {}`), where a person
decides, and its completion: steps `[setWeight 20, pause {}, setWeight 50, pause {duration: 10s}]`
make stage 1 "20%" (ends paused at step 2, Approve shown) and stage 2 "100%" (setWeight 50,
the timed pause the controller keeps itself, then full promotion). Approving promotes the
controller past the pause it waits at; a rollback aborts it (the stable pods back at full size);
Pause and Resume set the controller's own pause. The controller's abort (a failed analysis) is
the stage's failure, with the controller's message as the reason.
"""
from __future__ import annotations

from bot.domain.model import Release, Stage
from bot.domain.names import CONTROLLER_STRATEGY
from bot.language.grammar import StartCommand
from bot.workloads import Workload
from bot.workloads.argo_rollouts import canary_pods, step_text, steps_of, weight_at

from .base import Plan, PlanError, Progress, Target, main_container


def indefinite_pauses(steps: list[dict]) -> list[int]:
    return [i for i, s in enumerate(steps) if "pause" in s and (s["pause"] or {}).get("duration") is None]


def stages_of(steps: list[dict], replicas: int) -> tuple[Stage, ...]:
    stages, start = [], 0
    for end in indefinite_pauses(steps) + [len(steps)]:
        weight = 100 if end == len(steps) else weight_at(steps, end)
        ran = [step_text(s) for s in steps[start:end]]
        note = ", ".join(ran) + (", then full promotion" if end == len(steps) else ", then pause until approved")
        new = canary_pods(replicas, weight)
        stages.append(Stage(f"{weight}%", weight, new, replicas - new, note.lstrip(", ")))
        start = end + 1
    return tuple(stages)


class Controlled:
    name = CONTROLLER_STRATEGY

    def __init__(self, apps):
        self.apps = apps

    def plan(self, workload: Workload, target: Target, cmd: StartCommand) -> Plan:
        steps = steps_of(target.stable)
        if not steps:
            raise PlanError(f"{target.stable_name} has no canary steps (spec.strategy.canary.steps): "
                            "graybot approves a Rollout's pauses and has none to approve")
        status = target.stable.get("status") or {}
        origin = {"container": main_container(target.stable, target.app.name)["name"], "steps": steps,
                  "pauses": indefinite_pauses(steps), "from_image": workload.serving_image(target.stable, target.app.name),
                  "aborted_at": status.get("abortedAt", "") if status.get("abort") else ""}
        return Plan(stages_of(steps, target.replicas), target.stable_name, origin)

    def converge(self, workload: Workload, release: Release) -> Progress:
        ns, name, origin = release.namespace, release.new_name, release.origin
        obj = workload.get(ns, name)
        if obj is None:
            return Progress(False, failure=f"Rollout {ns}/{name} is gone")
        if workload.image_of(obj, origin["container"]) != release.image:
            if release.stage > 0:
                return Progress(False, failure=f"{name} runs {workload.image_of(obj, origin['container'])}, not "
                                               f"{release.image}: its template was changed outside graybot")
            obj = workload.set_image(ns, name, origin["container"], release.image)
        status = obj.get("status") or {}
        if status.get("abort"):
            if release.stage == 0 and origin.get("aborted_at") and status.get("abortedAt") == origin["aborted_at"]:
                workload.retry(ns, name)           # this release retries the update the controller aborted
                return Progress(False, f"{name}: retrying the aborted update")
            return Progress(False, failure=workload.deadline_failure(obj))
        pauses = origin["pauses"]
        if release.stage > 0 and workload.paused_at(obj) == pauses[release.stage - 1]:
            workload.promote(ns, name)             # the approval of the last stage, carried out
            return Progress(False, f"{name}: promoted past step {pauses[release.stage - 1] + 1}")
        if release.stage < len(pauses):
            if workload.paused_at(obj) == pauses[release.stage] and \
                    status.get("currentPodHash") != status.get("stableRS"):
                return Progress(True, f"{name}: paused at step {pauses[release.stage] + 1} "
                                      f"({status.get('updatedReplicas', 0)} new pods ready)")
        elif workload.settled(obj, release.replicas):
            return Progress(True, f"{name}: fully promoted, {release.replicas} pods of {release.to_version}")
        return Progress(False, workload.progress(obj, release.replicas))

    def finalize(self, workload: Workload, release: Release) -> None:
        """The controller made the new pods the stable ones; nothing is left to retire."""

    def rollback(self, workload: Workload, release: Release) -> Progress:
        ns, name = release.namespace, release.new_name
        obj = workload.get(ns, name)
        if obj is None:
            return Progress(False, failure=f"Rollout {ns}/{name} is gone; cannot roll back")
        status = obj.get("status") or {}
        if workload.image_of(obj, release.origin["container"]) == release.origin["from_image"]:
            if workload.settled(obj, release.replicas):
                return Progress(True, f"{name} runs {release.from_version} again")
            return Progress(False, workload.progress(obj, release.replicas))
        if not status.get("abort"):
            workload.abort(ns, name)
            return Progress(False, f"{name}: aborting")
        if obj["spec"].get("paused"):
            workload.resume(ns, name)
        stable = status.get("availableReplicas", 0) - status.get("updatedReplicas", 0)
        if status.get("updatedReplicas", 0) == 0 and stable >= release.replicas:
            return Progress(True, f"{name}: update aborted, {stable} pods of {release.from_version} serve")
        return Progress(False, workload.progress(obj, release.replicas))

    def pause(self, workload: Workload, release: Release) -> None:
        workload.pause(release.namespace, release.new_name)

    def resume(self, workload: Workload, release: Release) -> None:
        workload.resume(release.namespace, release.new_name)
