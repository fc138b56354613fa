"""The right form of every command, said with each usage error and by `/release help`."""
from __future__ import annotations

from bot.domain.names import MATCHING_ROUTERS, ROUTERS, STRATEGIES

_WAVES = " [--cluster NAME | --waves A,B [--wave-every DURATION]]"
USAGE = {
    "canary": f"/release canary APP-VERSION [W%] [--steps 10,30,50,100] [--router {'|'.join(ROUTERS)}] "
              "[--sticky] [--mirror P%] [--auto DURATION] [--bake DURATION]",
    "mirror": "/release mirror APP-VERSION P% [--for DURATION]   (a shadow: P% of requests copied to the new "
              "version, its answers dropped; then the canary's steps)",
    "ab": f"/release ab APP-VERSION header:NAME=VALUE | header:NAME~REGEX | cookie:NAME [--router {'|'.join(MATCHING_ROUTERS)}] "
          "[--steps 10,50,100]",
    "bluegreen": "/release bluegreen APP-VERSION",
    "rolling": "/release rolling APP-VERSION [--max-surge N|N%] [--max-unavailable N|N%]",
    "recreate": "/release recreate APP-VERSION",
    "batch": "/release batch APP-VERSION [--gray N] [--batches N] [--every DURATION] [--at HH:MM] "
             "[--window HH:MM-HH:MM] [--tz ZONE] [--manual]",
    "plan": "/release plan <strategy line>, e.g. /release plan canary user-v2 10% --waves staging,prod",
    "status": "/release status [APP] [--cluster NAME]", "list": "/release list", "history": "/release history APP",
    "audit": "/release audit APP   (who changed what and when, with the hash chain checked)",
    "gitops-diff": "/release gitops-diff APP [--cluster NAME]   (what Git must now hold after the last release)",
    "mute": "/release mute   (no more direct messages asking for your approval; /release unmute)",
    "unmute": "/release unmute   (direct messages asking for your approval again)",
    "help": "/release help [TOPIC]",
    "approve": "/release approve APP [--full] [--now] [--cluster NAME]", "pause": "/release pause APP [--cluster NAME]",
    "resume": "/release resume APP [--cluster NAME]",
    "rollback": "/release rollback APP [--batches | --all-waves] [--cluster NAME]",
    "continue": "/release continue APP [--cluster NAME]   (go on past a held or inconclusive gate)",
}
for _strategy in STRATEGIES:
    USAGE[_strategy] += _WAVES
