"""Freezes: when no release may start and no timer may advance one. Two sources, one answer:
freezes set by command (`/release freeze`, kept in Redis until they end) and the calendar
windows of apps.yaml (`policy:` for every app, and per app; deny wins over allow). Human
approvals of a running release stay possible: a freeze stops the machine, not the people."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from bot.adapters.store import Store
from bot.domain import timing
from bot.domain.apps import Registry
from bot.domain.windows import denied_until
from bot.language.policy import PolicyCommand
from bot.language.text import when

EVERY_APP = "*"


class FreezeDesk:
    def __init__(self, store: Store, registry: Registry, default_tz: str, clock: Callable[[], float]):
        self.store, self.registry, self.default_tz, self.clock = store, registry, default_tz, clock

    def held(self, app: str) -> tuple[float, str] | None:
        """(until, why) while `app` is frozen; back-to-back freezes and windows are followed."""
        now, tz = self.clock(), timing.zone(None, self.default_tz)
        spec = self.registry[app]
        freezes = self.store.freezes(now)
        deny = self.registry.windows.deny + spec.rules.windows.deny
        allow = spec.rules.windows.allow or self.registry.windows.allow
        moment, why = now, ""
        for _ in range(16):
            found = [(f["until"], self._said(scope, f)) for scope, f in freezes.items()
                     if scope in (app, EVERY_APP) and f["until"] > moment and f.get("at", 0) <= moment + 1]
            if found:
                moment, why = max(found)[0], why or max(found)[1]
                continue
            window = denied_until(deny, allow, moment, tz)
            if window is None:
                break
            moment, why = window[0], why or window[1]
        return (moment, why) if moment > now else None

    @staticmethod
    def _said(scope: str, freeze: dict) -> str:
        what = "every app is frozen" if scope == EVERY_APP else "frozen"
        reason = f" ({freeze['reason']})" if freeze.get("reason") else ""
        return f"{what} by {freeze['by']}{reason}"

    def until_of(self, cmd: PolicyCommand) -> float:
        if cmd.seconds is not None:
            return self.clock() + cmd.seconds
        day, _, clock = cmd.until.partition(" ")
        hh, mm = (int(x) for x in (clock or "00:00").split(":"))
        local = datetime.fromisoformat(day).replace(hour=hh, minute=mm, tzinfo=timing.zone(None, self.default_tz))
        return local.timestamp()

    def freeze(self, cmd: PolicyCommand, actor: str) -> tuple[str, bool]:
        """(what to say, whether anything was frozen)."""
        until = self.until_of(cmd)
        if until <= self.clock():
            return f"{when(until)} has passed; nothing frozen", False
        self.store.set_freeze(cmd.app or EVERY_APP, until, cmd.reason, actor)
        what = cmd.app or "every app"
        return (f"{what} frozen until {when(until)}{f' ({cmd.reason})' if cmd.reason else ''}: "
                "new releases are refused and timed stages wait; `/release unfreeze` ends it"), True

    def unfreeze(self, cmd: PolicyCommand) -> tuple[str, bool]:
        scope = cmd.app or EVERY_APP
        if not self.store.clear_freeze(scope):
            return f"{cmd.app or 'every app'} was not frozen by command; nothing changed", False
        return f"{cmd.app or 'every app'} unfrozen", True

    def lines(self) -> list[str]:
        """Freezes now in force, for status and list: by command, then by calendar window."""
        now = self.clock()
        commanded = self.store.freezes(now)
        out = []
        for scope, f in sorted(commanded.items()):
            reason = f' "{f["reason"]}"' if f.get("reason") else ""
            who = "every app" if scope == EVERY_APP else scope
            out.append(f"frozen: {who} until {when(f['until'])} by {f['by']}{reason}")
        for app in sorted(self.registry):
            if app in commanded or EVERY_APP in commanded:
                continue
            if (held := self.held(app)) is not None:
                out.append(f"frozen: {app} until {when(held[0])} ({held[1]})")
        return out
