"""A release whose steps a progressive-delivery controller runs (an Argo Rollout, a Kruise
Rollout): graybot sets the new image where the controller expects it, then approves the
controller's own pauses. The workload knows its controller (steps, pauses, verbs); this module is
the release's side, the same for every such controller.

The release's stages are the pauses where a person decides, and the completion: an Argo Rollout's
steps `[setWeight 20, pause {}, setWeight 50, pause {duration: 10s}]` make stage 1 "20%" (ends
paused at step 2, Approve shown) and stage 2 "100%" (setWeight 50, the timed pause the controller
keeps itself, then full promotion). Approving promotes the controller past the pause it waits at;
a rollback stops the update the controller's way (Argo: abort; Kruise: the template put back);
Pause and Resume set the controller's own pause. The controller's abort (a failed analysis) is the
stage's failure, with the controller's message as the reason.
"""
from __future__ import annotations

from typing import cast

from bot.domain.model import Release
from bot.domain.names import CONTROLLER_STRATEGY
from bot.language.grammar import StartCommand
from bot.workloads import Workload
from bot.workloads.base import Controller

from .base import Plan, PlanError, Progress, Target, main_container


class Controlled:
    name = CONTROLLER_STRATEGY

    def __init__(self, apps):
        self.apps = apps

    def plan(self, workload: Workload, target: Target, cmd: StartCommand) -> Plan:
        ctl = cast(Controller, workload)
        steps = ctl.steps(target.stable)
        if not steps:
            raise PlanError(f"{target.stable_name} has no canary steps: graybot approves a controller's "
                            "pauses and has none to approve")
        if problems := ctl.problems(target.stable):
            raise PlanError(f"{target.stable_name}: " + "; ".join(problems))
        origin = dict(ctl.origin(target.stable),
                      container=main_container(ctl.template(target.stable), target.app.name)["name"],
                      pauses=ctl.pause_points(steps),
                      from_image=workload.serving_image(target.stable, target.app.name))
        return Plan(ctl.stages(target.stable, target.replicas), target.stable_name, origin)

    def converge(self, workload: Workload, release: Release) -> Progress:
        ctl = cast(Controller, workload)
        ns, name, origin = release.namespace, release.new_name, release.origin
        obj = workload.get(ns, name)
        if obj is None:
            return Progress(False, failure=f"{workload.api_kind} {ns}/{name} is gone")
        image = workload.image_of(obj, origin["container"])
        if image != release.image:
            if release.stage > 0:
                return Progress(False, failure=f"{name} runs {image}, not {release.image}: its template was "
                                               "changed outside graybot")
            obj = ctl.set_image(ns, name, origin["container"], release.image)
        kind, said = ctl.trouble(obj, origin, release.stage == 0)
        if kind:
            return Progress(False, said) if kind == "retry" else Progress(False, failure=said)
        pauses, at = origin["pauses"], ctl.paused_at(obj)
        if at in pauses and (release.stage == len(pauses) or at < pauses[release.stage]):
            ctl.promote(ns, name)        # an approval carried out (after `approve --full`, each pause in turn)
            return Progress(False, f"{name}: promoted past step {at + 1}")
        if release.stage < len(pauses):
            if at == pauses[release.stage] and ctl.in_update(obj):
                return Progress(True, f"{name}: paused at step {pauses[release.stage] + 1}")
        elif workload.settled(obj, release.replicas):
            return Progress(True, f"{name}: fully promoted, {release.replicas} pods of {release.to_version}")
        return Progress(False, workload.progress(obj, release.replicas))

    def finalize(self, workload: Workload, release: Release) -> None:
        """The controller made the new pods the stable ones; nothing is left to retire."""

    def rollback(self, workload: Workload, release: Release) -> Progress:
        obj = workload.get(release.namespace, release.new_name)
        if obj is None:
            return Progress(False, failure=f"{workload.api_kind} {release.namespace}/{release.new_name} is gone; "
                                           "cannot roll back")
        done, said = cast(Controller, workload).undo(obj, release.origin["container"], release.origin["from_image"],
                                   release.replicas)
        return Progress(done, said)

    def pause(self, workload: Workload, release: Release) -> None:
        cast(Controller, workload).pause(release.namespace, release.new_name)

    def resume(self, workload: Workload, release: Release) -> None:
        cast(Controller, workload).resume(release.namespace, release.new_name)
