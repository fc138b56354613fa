"""What the chat edge keeps in Redis beside the releases: the inbox of requests acknowledged to
the chat platform but not yet handled, and where each release's live message is. Not part of a
release's versioned state, so the release store knows nothing of it."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import keys, redisurl
from .groupcommit import GroupCommit
from .replicas import Replicas


class Replayed(Exception):
    """This exact signed request was received before, within its signature's window."""


@dataclass(frozen=True)
class FirstSight:
    """A signed request's signature, remembered for `window` seconds when its entry is written."""
    token: str
    window: int


class StoreUnavailable(Exception):
    """Redis did not answer (down, hung past its timeout), or refuses writes (`refusing`: why)."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.refusing = refusal_of(error)


def refusal_of(error: Exception) -> str:
    """Why a Redis that answered refused a write ("" when it did not answer at all). Redis 7
    answers a refused write inside a script with the refusal's own error code; Redis 6 wraps it
    ("Error running script ... -READONLY ..."), which redis-py then types as a plain ResponseError."""
    text = str(error)
    if isinstance(error, redis.exceptions.ReadOnlyError) or "-READONLY " in text:
        return "read-only"
    if isinstance(error, redis.exceptions.OutOfMemoryError) or text.startswith("OOM") or "-OOM " in text:
        return "out of memory"
    return ""


ACK_CALL_TIMEOUT = 0.4     # connect, then answer: a hung Redis costs an ack at most 0.8 s per call


def ack_client(conn: redis.Redis) -> redis.Redis:
    """A client for the ack path on the store's exact connection settings (TLS and all), with
    short timeouts and no retry: Slack gives 3 s for the ack, and a hung Redis must leave most of
    them for telling the person so."""
    return redisurl.variant(conn, socket_timeout=ACK_CALL_TIMEOUT, socket_connect_timeout=ACK_CALL_TIMEOUT,
                            retry=Retry(NoBackoff(), 0))


# One round trip, atomic: the request's first sight (a signed request's signature, when the replay
# guard left it to this step), the durable entry and, for an edge process, the worker's queue item
# are written together: a replay writes nothing, and an entry is never queued without existing nor
# exists unqueued while its worker lives. ARGV: request, at, queue TTL, replay window (0: no
# guard), 1 to queue. Nil when the request was seen before.
ACCEPT = """
if ARGV[4] ~= '0' and not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[4]) then
  return false
end
local id = redis.call('XADD', KEYS[1], '*', 'request', ARGV[1], 'at', ARGV[2])
if ARGV[5] == '1' then
  redis.call('RPUSH', KEYS[2], id .. '\\n' .. ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return id
"""
HANDOFF_TTL = 24 * 3600      # a queue of a worker that never came back goes; its entries are recovered


def blocking_client(conn: redis.Redis, wait: float) -> redis.Redis:
    """A client on the store's exact connection settings whose reads may wait `wait` seconds
    (a blocking pop) before the socket gives up."""
    return redisurl.variant(conn, socket_timeout=wait + 2)


def _queued(item: str) -> tuple[str, dict]:
    """A hand-off queue's item: the entry's id, a newline, the request."""
    entry_id, _, request = item.partition("\n")
    return entry_id, json.loads(request)


class EdgeState:
    def __init__(self, conn: redis.Redis, ack: redis.Redis | None = None):
        """`ack`: the client of the calls made before an ack (replay guard, inbox, the version seen)."""
        self.r = conn
        self.ack = ack or conn
        self.replicas = Replicas(self.ack)       # an acked request is on a replica first, if any
        self._accepts = GroupCommit(self.ack, ACCEPT, self.replicas)   # a burst's entries in one round trip

    # -- replay protection ----------------------------------------------------------------
    def first_sight(self, token: str, window: int) -> bool:
        """True the first time `token` (a signed request's signature) is seen within `window`
        seconds; a replayed request gets False. Raises StoreUnavailable when Redis cannot answer."""
        try:
            return bool(self.ack.set(keys.seen(token), "1", nx=True, ex=window))
        except redis.exceptions.RedisError as exc:
            raise StoreUnavailable(exc) from None

    def active_version(self, app: str) -> int | None:
        """The state version of the app's active release as the person saw it at the ack."""
        try:
            release_id = self.ack.get(keys.active_of(app))
            raw = self.ack.get(keys.release(release_id)) if release_id else None
        except redis.exceptions.RedisError as exc:
            raise StoreUnavailable(exc) from None
        return int(json.loads(raw)["version"]) if raw else None

    # -- the live message's location ----------------------------------------------------
    def set_message(self, release_id: str, channel: str, ts: str) -> None:
        self.r.hset(keys.message(release_id), mapping={"channel": channel, "ts": ts})

    def message(self, release_id: str) -> tuple[str, str] | None:
        loc = self.r.hgetall(keys.message(release_id))
        return (loc["channel"], loc["ts"]) if loc.get("ts") else None

    # -- the Home tab: who looks at it, whose needs publishing, which view is theirs -------
    def home_opened(self, user: str) -> None:
        pipe = self.r.pipeline()
        pipe.hset(keys.home_viewers(), user, round(time.time(), 3))
        pipe.sadd(keys.home_dirty(), user)
        pipe.execute()

    def home_changed(self, within: float) -> int:
        """Every release change: the Home tab of each person who opened it within `within`
        seconds is published again (coalesced: a set, drained by the publisher)."""
        now, viewers = time.time(), self.r.hgetall(keys.home_viewers())
        recent = [u for u, at in viewers.items() if now - float(at) < within]
        stale = [u for u in viewers if u not in recent]
        pipe = self.r.pipeline()
        if recent:
            pipe.sadd(keys.home_dirty(), *recent)
        if stale:
            pipe.hdel(keys.home_viewers(), *stale)
        pipe.execute()
        return len(recent)

    def home_take(self, limit: int = 100) -> list[str]:
        return list(self.r.spop(keys.home_dirty(), limit) or [])

    def home_again(self, users: list[str]) -> None:
        if users:
            self.r.sadd(keys.home_dirty(), *users)

    def set_home_view(self, user: str, view_id: str) -> None:
        self.r.set(keys.home_view(user), view_id, ex=30 * 86400)

    def home_view(self, user: str) -> str | None:
        return self.r.get(keys.home_view(user))

    # -- approvers paged: the direct messages asking for a waiting release's approval ------
    def pages(self, release_id: str) -> dict | None:
        raw = self.r.get(keys.pages(release_id))
        return json.loads(raw) if raw else None

    def set_pages(self, release_id: str, record: dict) -> None:
        self.r.set(keys.pages(release_id), json.dumps(record), ex=30 * 86400)

    def claim_pages(self, release_id: str, gate: str) -> bool:
        """Only one process pages the approvers of one gate (the first to claim it)."""
        return bool(self.r.set(f"{keys.pages(release_id)}:{gate}", 1, nx=True, ex=30 * 86400))

    def remind_at(self, member: str, at: float) -> None:
        self.r.zadd(keys.page_reminders(), {member: at})

    def due_reminders(self, now: float, limit: int = 50) -> list[str]:
        """Reminders due by `now`, each taken by exactly one caller (the first to remove it)."""
        due = self.r.zrangebyscore(keys.page_reminders(), 0, now, start=0, num=limit)
        return [m for m in due if self.r.zrem(keys.page_reminders(), m)]

    def is_page(self, release_id: str, channel: str, ts: str) -> bool:
        """Is (channel, ts) one of the direct messages graybot sent for this release's gate?"""
        record = self.pages(release_id) or {}
        return record.get("open", False) and [channel, ts] in (record.get("sent") or {}).values()

    # -- inbox: requests acknowledged but not yet fully handled ---------------------------
    def inbox_add(self, request: dict, once: FirstSight | None = None) -> str:
        """Accept in the process that carries the request out: the entry, written before the ack
        (Replayed when `once` was seen before; StoreUnavailable when Redis cannot take it)."""
        return self._accept_entry(request, "", once)

    def inbox_hand_off(self, request: dict, worker: str, once: FirstSight | None = None) -> str:
        """The edge process's accept: the entry (owned by `worker`) and its place in that
        worker's queue, written in one atomic step on the ack client."""
        return self._accept_entry(request, worker, once)

    def _accept_entry(self, request: dict, worker: str, once: FirstSight | None) -> str:
        try:
            entry_id = self._accepts.call(
                keys=[keys.inbox(), keys.inbox_ready(worker or "-"), keys.seen(once.token if once else "-")],
                args=[json.dumps(request), f"{time.time():.3f}", HANDOFF_TTL, once.window if once else 0,
                      1 if worker else 0])
        except redis.exceptions.RedisError as exc:
            raise StoreUnavailable(exc) from None
        if entry_id is None:
            raise Replayed(once.token if once else "")
        return entry_id

    def inbox_next(self, worker: str, wait: float, conn: "redis.Redis") -> tuple[str, dict] | None:
        """The next entry handed to `worker`, waiting up to `wait` seconds (on `conn`, a client
        whose socket timeout is longer than the wait); None when nothing came."""
        try:
            got = conn.blpop([keys.inbox_ready(worker)], timeout=wait)
        except redis.exceptions.RedisError as exc:
            raise StoreUnavailable(exc) from None
        return None if got is None else _queued(got[1])

    def inbox_queued(self, worker: str, limit: int = 100) -> list[tuple[str, dict]]:
        """What is queued for `worker` now, up to `limit` entries, without waiting."""
        try:
            got = self.r.lpop(keys.inbox_ready(worker), limit)
        except redis.exceptions.RedisError as exc:
            raise StoreUnavailable(exc) from None
        return [_queued(item) for item in got or []]

    def inbox_done(self, entry_id: str) -> None:
        self.r.xdel(keys.inbox(), entry_id)

    def inbox_claim(self, entry_id: str, request: dict) -> str | None:
        """Take over an entry of a dead process: the new entry (owned by the claimer) exists before
        the old one goes, so a crash in between loses nothing; when another process removed the
        old one first, the claim is withdrawn (None) and it carries the request out alone."""
        mine = self.r.xadd(keys.inbox(), {"request": json.dumps(request), "at": f"{time.time():.3f}"})
        if self.r.xdel(keys.inbox(), entry_id) == 1:
            return mine
        self.r.xdel(keys.inbox(), mine)
        return None

    # -- notices: what a process without a chat edge (the CLI) did, for the edge to tell ------
    def notice_add(self, release_id: str, what: str, detail: str) -> None:
        self.r.xadd(keys.notices(), {"release": release_id, "what": what, "detail": detail},
                    maxlen=10_000, approximate=True)

    def notices_take(self, limit: int = 100) -> list[tuple[str, str, str]]:
        """The oldest notices, removed as they are taken (one consumer: the leader)."""
        entries = self.r.xrange(keys.notices(), count=limit)
        if entries:
            self.r.xdel(keys.notices(), *[entry_id for entry_id, _ in entries])
        return [(f["release"], f["what"], f.get("detail", "")) for _, f in entries]

    # -- which processes are alive (heartbeats written by every process's leadership loop) --
    def heartbeat(self, identity: str, ttl: float) -> None:
        self.r.set(keys.alive(identity), "1", px=int(ttl * 1000))

    def alive(self, identity: str) -> bool:
        return bool(self.r.exists(keys.alive(identity)))

    def inbox_size(self) -> int:
        """Requests acked and not yet carried out (or being carried out now)."""
        return int(self.r.xlen(keys.inbox()))

    def inbox_stale(self, older_than: float) -> list[tuple[str, dict]]:
        """Requests left behind by a worker that died (acknowledged, never finished)."""
        cutoff = time.time() - older_than
        return [(entry_id, json.loads(fields["request"]))
                for entry_id, fields in self.r.xrange(keys.inbox())
                if float(fields["at"]) < cutoff]
