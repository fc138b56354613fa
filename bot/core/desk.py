"""Where a person's request is decided and carried out, whatever it came through (a chat
platform's command or button, the Home tab, the CLI): the release policy (who may do what,
where), then the engine, then what to tell the person, as neutral text (requests.Said).

The edge has already verified the request's signature and written it to the inbox; this runs
after the ack (runtime/inbox.py), and again after a crash (replayed=True)."""
from __future__ import annotations

import logging
from typing import Callable

from bot.adapters.edgestate import EdgeState
from bot.domain.model import Event, Phase, Release
from bot.language import text
from bot.language.grammar import ActionCommand, Command, PolicyCommand, QueryCommand, StartCommand, UsageError, parse

from . import service
from .buttons import parse_button_value
from .engine import Engine, Refused
from .policy import Policy
from .requests import Request, Said, Tone

VIEW = "view:"          # Request.message of a click on a view (the Home tab): view:VIEW_ID
log = logging.getLogger("graybot.desk")
EVENTS = {"approve": Event.APPROVE, "pause": Event.PAUSE, "resume": Event.RESUME,
          "rollback": Event.ROLLBACK, "continue": Event.OVERRIDE}
STOPS = {"pause", "rollback"}      # act on the live release whatever version the button showed
VERSIONED = {"approve", "continue"}       # a replayed command must find the state the person saw
NOT_OURS = "this button is not one of graybot's; nothing changed."


def expected_version(state: EdgeState, cmd: Command) -> int | None:
    """At the ack, for approve and continue: the state version the person saw, so a replay after
    a crash cannot approve a later stage than the one they meant."""
    if isinstance(cmd, ActionCommand) and cmd.verb in VERSIONED:
        return state.active_version(cmd.app)
    return None


class Desk:
    def __init__(self, engine: Engine, policy: Policy, state: EdgeState, button_key: bytes = b"",
                 wake: Callable[[str], None] = lambda _release_id: None):
        """`wake(release_id)`: a release was just moved; have it driven now (runtime's Runner.follow)."""
        self.engine, self.policy, self.state = engine, policy, state
        self.button_key, self.wake = button_key, wake

    @property
    def registry(self):
        return self.engine.registry

    # -- at the ack ---------------------------------------------------------------------------
    def expected_version(self, cmd: Command) -> int | None:
        return expected_version(self.state, cmd)

    def carry_out(self, request: Request, replayed: bool = False) -> Said | None:
        """The inbox's worker: a command or a button click, whatever platform it came from."""
        if request.kind == "command":
            return self.command(request, replayed)
        return self.click(request)

    # -- commands -----------------------------------------------------------------------------
    def refusal(self, cmd: Command, request: Request) -> str | None:
        """Why the policy refuses this command to this person here, or None."""
        user, where = request.user, request.conversation
        check_channel = request.platform != "cli"        # the CLI is not in a channel
        if isinstance(cmd, QueryCommand) or getattr(cmd, "dry_run", False):    # reading: the app's channels only
            app_name = getattr(cmd, "app", None)
            if not check_channel or not app_name or app_name not in self.registry:
                return None
            return self.policy.channel_refusal(self.registry[app_name], where)
        if isinstance(cmd, PolicyCommand):
            if cmd.verb == "stop-all":      # checked release by release
                return None
            apps = [cmd.app] if cmd.app else sorted(self.registry)   # `all`: an approver of every app
            return next((why for why in (self.policy.refusal("approve", self.registry[a].at(cluster), user, where,
                                                             check_channel=check_channel)
                                         for a in apps for cluster in self.registry[a].clusters)    # and in each
                         if why is not None), None)                                               # of its clusters
        app = self.registry[cmd.app]
        if isinstance(cmd, StartCommand):
            return self.policy.start_refusal(app, user, where, cmd.cluster, cmd.waves, check_channel=check_channel)
        return self.policy.refusal(cmd.verb, app, user, where, self.engine.store.active_for(cmd.app),
                                   check_channel=check_channel, full=cmd.verb == "approve" and cmd.full)

    def command(self, request: Request, replayed: bool = False, override: str = "") -> Said | None:
        """Run the command; what to tell the person (None: the live message says it all).
        `override`: an operator's reason to bypass the policy (CLI only), recorded and announced."""
        try:
            cmd = parse(request.text, self.registry)
        except UsageError as err:           # the registry changed since the ack
            return Said(err.problem if replayed or request.platform != "cli" else str(err), Tone.WARNING)
        refusal = self.refusal(cmd, request)
        if refusal is not None and not override:
            self._record_refusal(cmd, request.user, refusal)
            return Said(refusal, Tone.REFUSED)
        if refusal is not None:
            self._record_override(cmd, request, override, refusal)
        user = request.user
        may = None if override else (lambda verb, release: self.policy.refusal(   # per release, for stop-all
            verb, self.registry[release.app], user, request.conversation, release,
            check_channel=request.platform != "cli"))
        expected = request.expected       # approve and continue act on the state the person saw
        vet = None if override or not isinstance(cmd, StartCommand) else (
            lambda release: self.policy.planned_refusal(self.registry[release.app], user, release, timed=_timed(cmd)))
        reply = service.execute(self.engine, cmd, user, channel=request.conversation, platform=request.platform,
                                expected_version=expected, may=may, override=self._override_note(user, override),
                                vet=vet)
        if not reply.ok:
            if isinstance(cmd, ActionCommand) and (release := self.engine.store.active_for(cmd.app)):
                self.engine.store.record(release.id, user, "refused", f"{cmd.verb}: {reply.text}")
            return Said(reply.text, Tone.REFUSED)
        if reply.release is not None:
            self.wake(reply.release.id)
        if isinstance(cmd, QueryCommand) or (isinstance(cmd, StartCommand) and cmd.dry_run):
            return Said(reply.text, Tone.CODE)
        if isinstance(cmd, PolicyCommand):
            return Said(reply.text, reply.tone)
        if replayed and reply.release is not None:
            return Said(f"it has now been carried out:\n```{text.status_text(reply.release)}```", Tone.INFO)
        if request.platform == "cli":
            return Said(reply.text, Tone.CODE)
        return None

    @staticmethod
    def _override_note(user: str, override: str) -> str:
        return f"{user} overrode the release policy: {override}" if override else ""

    def _record_refusal(self, cmd: Command, user: str, refusal: str) -> None:
        release = self.engine.store.active_for(app) if (app := getattr(cmd, "app", None)) else None
        if release is not None:
            self.engine.store.record(release.id, user, "refused", f"{getattr(cmd, 'verb', 'start')}: {refusal}")

    def _record_override(self, cmd: Command, request: Request, reason: str, refusal: str) -> None:
        """The policy would have refused; an operator said why it must go anyway. Recorded in the
        audit trail (and said in the release's thread) before anything changes."""
        log.warning("policy overridden by %s (%s) for %r: would refuse: %s", request.user, reason, request.text, refusal)
        release = self.engine.store.active_for(app) if (app := getattr(cmd, "app", None)) else None
        if release is not None:
            note = f"{self._override_note(request.user, reason)} (policy said: {refusal})"
            self.engine.store.record(release.id, request.user, "policy_override", note)
            self.engine.announce(release, "policy_override", note)

    # -- buttons ------------------------------------------------------------------------------
    def click(self, request: Request) -> Said | None:
        """A button on a release's live message. Approvals need the exact version (a click on a
        spent button changes nothing and says who acted and when); Pause and Rollback act on the
        release as it is now, so a person's stop never loses a race against the bot's bookkeeping."""
        action, user = request.action, request.user
        try:
            release_id, stage, version = parse_button_value(request.value, action, self.button_key)
        except ValueError as err:
            log.warning("refused a %s click by %s: %s", action, user, err)
            return Said(NOT_OURS, Tone.REFUSED)
        if action not in EVENTS:
            return Said(NOT_OURS, Tone.REFUSED)
        release = self.engine.store.get(release_id)
        if release is None:
            return Said("that release no longer exists; nothing changed.", Tone.REFUSED)
        where = request.conversation
        if request.message.startswith(VIEW):         # the person's Home tab, as graybot last published it
            if self.state.home_view(user) != request.message.removeprefix(VIEW):
                log.warning("refused a %s click by %s: not on their Home tab", action, user)
                self.engine.store.record(release.id, user, "refused", f"{action}: button not on the person's Home tab")
                return Said("that button is not on your Home tab as graybot shows it now; nothing changed.",
                            Tone.REFUSED)
            where = release.conversation              # the click counts where the release lives
        elif self.state.is_page(release.id, request.conversation, request.message):
            where = release.conversation              # a direct message paging the person: the same
        elif self.state.message(release.id) != (request.conversation, request.message):
            log.warning("refused a %s click by %s: %s's button on another message", action, user, release.id)
            self.engine.store.record(release.id, user, "refused", f"{action}: button not on this release's message")
            return Said(f"that button does not belong to {release.app}'s live message; nothing changed.", Tone.REFUSED)
        app = self.registry.get(release.app)
        refusal = self.policy.refusal(action, app, user, where, release) if app else "unknown app"
        if refusal is not None:
            self.engine.store.record(release.id, user, "refused", f"{action}: {refusal}")
            return Said(refusal, Tone.REFUSED)
        try:
            self.engine.apply(release.id, EVENTS[action], user, expected_version=self._expected(release, action, stage,
                                                                                                version))
        except Refused as err:
            self.engine.store.record(release.id, user, "refused", f"{action}: {err}")
            return Said(str(err), Tone.REFUSED)
        self.wake(release.id)
        return None

    @staticmethod
    def _expected(release: Release, action: str, stage: int, version: int) -> int | None:
        if action in STOPS and release.phase.live:
            return None
        if action == "approve" and release.last_action == Event.VOTE.value and release.stage == stage \
                and release.phase == Phase.WAITING:
            return None     # only votes came since this button was drawn: one more vote, same stage
        return version


def _timed(cmd: StartCommand) -> bool:
    """Does the command arm a timer that approves stages or starts waves by itself?"""
    return bool(cmd.auto or cmd.every or cmd.at or cmd.wave_every)
