"""Every Redis key graybot writes, one function per kind (prefix `graybot:`). These names are
persisted: renaming one loses what running bots saved under it."""
from __future__ import annotations

PREFIX = "graybot:"


def release(release_id: str) -> str:
    return f"{PREFIX}release:{release_id}"          # the release's saved state (JSON)


def active_of(app: str) -> str:
    return f"{PREFIX}active:{app}"                  # the app's one active release id


def active_set() -> str:
    return f"{PREFIX}active"                        # ids of every active release


def moving_set() -> str:
    return f"{PREFIX}moving"                        # ids of the releases applying a stage or rolling back


def outage_held() -> str:
    return f"{PREFIX}outage-held"                   # ids of the releases a cluster's outage paused


def timed_versions() -> str:
    return f"{PREFIX}timed"                         # id -> state version of each waiting release with a timer


def history(app: str) -> str:
    return f"{PREFIX}history:{app}"                 # finished release ids, newest first


def audit(release_id: str) -> str:
    return f"{PREFIX}audit:{release_id}"            # append-only stream of who did what


def audit_head(release_id: str) -> str:
    return f"{PREFIX}audit-head:{release_id}"       # the audit chain's last hash and entry count


def audit_index() -> str:
    return f"{PREFIX}audit-index"                   # sorted set: release id -> when it started


def audit_outbox() -> str:
    return f"{PREFIX}audit-outbox"                  # stream: audit entries not yet delivered to the webhook


def app_lock(app: str) -> str:
    return f"{PREFIX}lock:{app}"                    # serialises cluster work on one app


def stage_clock(release_id: str) -> str:
    return f"{PREFIX}clock:{release_id}"            # when each stage started / settled


def message(release_id: str) -> str:
    return f"{PREFIX}message:{release_id}"          # where the live chat message is


def health_probe() -> str:
    return f"{PREFIX}health:probe"                  # /healthz writes it: does Redis take writes?


def notices() -> str:
    return f"{PREFIX}notices"                       # changes made by the CLI, for the chat edge to tell


def inbox() -> str:
    return f"{PREFIX}inbox"                         # requests acked to chat, not yet handled


def seen(token: str) -> str:
    return f"{PREFIX}seen:{token}"                  # a signed request already received (replays)


def inbox_ready(identity: str) -> str:
    return f"{PREFIX}inbox:ready:{identity}"        # entries an edge process handed to this worker


def alive(identity: str) -> str:
    return f"{PREFIX}alive:{identity}"              # a running bot process's heartbeat


def leader() -> str:
    return f"{PREFIX}leader"                        # the leader lock (value: lock token)


def leader_owner() -> str:
    return f"{PREFIX}leader:owner"                  # who leads, for people


def timer_jobs() -> str:
    return f"{PREFIX}aps:jobs"                      # APScheduler's RedisJobStore hash


def timer_run_times() -> str:
    return f"{PREFIX}aps:run_times"                 # APScheduler's RedisJobStore sorted set


def freezes() -> str:
    return f"{PREFIX}freezes"                       # scope (app, or * for all) -> freeze (JSON)


def flagger_asked(place: str) -> str:
    return f"{PREFIX}flagger-asked:{place}"         # hook -> the last request Flagger made of that gate (JSON)


def flagger_open(place: str) -> str:
    return f"{PREFIX}flagger-open:{place}"          # set of CHECKSUM/HOOK a person opened


def gitops_pending() -> str:
    return f"{PREFIX}gitops-pending"                # RELEASE_ID#WAVE whose reconciliation waits for Git


def writeback(member: str) -> str:
    return f"{PREFIX}writeback:{member}"            # RELEASE#WAVE -> what writing it to Git did (JSON)


def home_viewers() -> str:
    return f"{PREFIX}home-viewers"                  # user -> when they last opened graybot's Home tab


def home_dirty() -> str:
    return f"{PREFIX}home-dirty"                    # users whose Home tab must be published again


def home_view(user: str) -> str:
    return f"{PREFIX}home-view:{user}"              # the id of the Home view published for the user


def pages(release_id: str) -> str:
    return f"{PREFIX}pages:{release_id}"            # the direct messages asking for the release's approval (JSON)


def muted() -> str:
    return f"{PREFIX}muted"                         # users who asked for no direct messages (/release mute)


def page_reminders() -> str:
    return f"{PREFIX}page-reminders"                # RELEASE|GATE|KIND -> when (epoch seconds) to remind


def replication_mark() -> str:
    return f"{PREFIX}replication-mark"              # written just before a WAIT (bot/adapters/replicas.py)
