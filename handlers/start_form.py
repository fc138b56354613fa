"""A form to start a release: `/release` with no text (or the `start_release` global shortcut)
opens a modal: app (only those this person may start here), strategy, version, steps, router,
waves and schedule options. Submitting it composes the command line and parses it with the same
grammar: a mistake comes back on its field (`response_action: errors`) in the command line's
words, and nothing is started. Otherwise the modal turns to "planning" and a `plan` request goes
through the inbox like `/release plan ...`; its answer replaces the modal with the plan (pods and
weights per stage and wave) and a Start button. Start sends the command through the inbox: the
same path, policy and audit as the slash command."""
from __future__ import annotations

import json

from slack_bolt import Ack, App

from bot.core.policy import Policy
from bot.core.requests import Request
from bot.domain.names import ROUTERS, STRATEGIES
from bot.language.grammar import UsageError, parse

from .edge import Edge
from .form_views import CONFIRM, FORM, FORM_MARK, modal, plain_text, section, select, text_input



def register(app: App, edge: Edge, policy: Policy) -> None:
    @app.shortcut("start_release")
    def on_shortcut(ack: Ack, shortcut: dict) -> None:
        ack()
        edge.inbox.workers.submit(open_form, edge, policy, shortcut["trigger_id"], shortcut["user"]["id"], "")

    @app.view(FORM)
    def on_form(ack: Ack, body: dict, view: dict) -> None:
        fields = _values(view)
        channel = json.loads(view.get("private_metadata") or "{}").get("channel") or fields.get("channel", "")
        text, errors = compose(fields, edge)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack(response_action="update", view=modal(CONFIRM, "Planning…", [section(f"Planning `{text}`…")],
                                                  {"channel": channel, "text": text, "app": fields.get("app")},
                                                  submit=None))
        request = Request("command", f"/release plan {text}", body["user"]["id"], channel, text=f"plan {text}",
                          app=fields.get("app"), message=FORM_MARK + view["id"])
        edge.inbox.run_later(edge.inbox.accept(request), request)

    @app.view(CONFIRM)
    def on_start(ack: Ack, body: dict, view: dict) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        ack(response_action="clear")
        request = Request("command", f"/release {meta['text']}", body["user"]["id"], meta["channel"],
                          text=meta["text"], app=meta.get("app"))
        edge.inbox.run_later(edge.inbox.accept(request), request)


def open_form(edge: Edge, policy: Policy, trigger_id: str, user: str, channel: str) -> None:
    apps = [a for name, a in sorted(edge.registry.items())
            if policy.start_refusal(a, user, channel, None, (), check_channel=bool(channel)) is None]
    blocks = [select("app", "App", [a.name for a in apps]),
              select("strategy", "Strategy", list(STRATEGIES), initial="canary"),
              text_input("version", "Version", "v2"),
              text_input("steps", "Steps", "10%  or  --steps 10,50,100", optional=True),
              select("router", "Router", list(ROUTERS), optional=True),
              text_input("waves", "Clusters, in waves", "staging,prod", optional=True),
              text_input("schedule", "Schedule options", "--every 10m --window 09:00-17:00", optional=True)]
    if not channel:
        blocks.insert(0, {"type": "input", "block_id": "channel", "label": plain_text("Channel"), "element": {
            "type": "conversations_select", "action_id": "channel", "default_to_current_conversation": True}})
    if not apps:
        blocks = [section("You may not start a release of any app here.")]
    edge.client.views_open(trigger_id=trigger_id, view=modal(FORM, "Start a release", blocks, {"channel": channel},
                                                              submit="Plan" if apps else None))


def compose(fields: dict, edge: Edge) -> tuple[str, dict[str, str]]:
    """The command line the form stands for, or the field each mistake belongs to."""
    app, version = fields.get("app") or "", (fields.get("version") or "").strip()
    words = [fields.get("strategy") or "canary", f"{app}-{version}"]
    words += (fields.get("steps") or "").split()
    if fields.get("router"):
        words += ["--router", fields["router"]]
    if fields.get("waves"):
        words += ["--waves", fields["waves"].replace(" ", "")]
    words += (fields.get("schedule") or "").split()
    text = " ".join(words)
    try:
        parse(f"plan {text}", edge.registry)
    except UsageError as err:
        return text, {_field_of(err.problem, f"{app}-{version}"): err.problem[:150]}
    return text, {}


def _field_of(problem: str, app_version: str) -> str:
    lowered = problem.lower()
    if app_version in problem:
        return "version"
    for words, field in ((("version",), "version"), (("--every", "--at", "--window", "schedule"), "schedule"),
                         (("wave", "cluster"), "waves"), (("router",), "router"), (("app",), "app")):
        if any(w in lowered for w in words):
            return field
    return "steps"


def _values(view: dict) -> dict[str, str]:
    out = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for value in actions.values():
            chosen = value.get("selected_option") or {}
            out[block_id] = chosen.get("value") or value.get("value") or value.get("selected_conversation") or ""
    return out
