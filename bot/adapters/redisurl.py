"""REDIS_URL -> redis-py clients, and every other client graybot needs made from the first one
with exactly its connection settings. The one place that knows how graybot reaches Redis:

    redis://[USER:PASSWORD@]HOST:PORT/DB                       one server (ACL user optional)
    rediss://...?ssl_ca_certs=/path/ca.crt                     the same over TLS
    unix:///path/redis.sock?db=0                               a unix socket
    redis+sentinel://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER_NAME[/DB]
    rediss+sentinel://...                                      Sentinel, TLS to sentinels and master

With Sentinel every client asks the sentinels for the master before each new connection and
drops its connections when the master changes or turns read-only (redis-py's
`Sentinel.master_for`), so after a failover graybot writes to the promoted replica, never to an
old master that came back. USER:PASSWORD are the master's (and, unless `sentinel_password` is
given as a query parameter, the sentinels' too)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
from redis.sentinel import Sentinel, SentinelConnectionPool

from bot.domain.apps import ConfigError

__all__ = ["RedisUrlError", "connect", "describe", "problems", "variant"]

SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}       # scheme -> TLS
PLAIN_SCHEMES = {"redis", "rediss", "unix"}
# query parameters that go to every connection (TLS files and checks); the rest are refused
TLS_PARAMS = {"ssl_ca_certs", "ssl_cert_reqs", "ssl_certfile", "ssl_keyfile", "ssl_check_hostname", "ssl_ca_path"}
SENTINEL_PARAMS = {"sentinel_username", "sentinel_password"}
# what a redis-py pool adds to its connections' settings itself (per pool, not copied to another)
POOL_OWN = {"connection_pool", "himport_registry", "maint_notifications_pool_handler", "orig_host_address",
            "orig_socket_timeout", "orig_socket_connect_timeout"}


class RedisUrlError(ConfigError):
    """REDIS_URL cannot be used; the message never repeats a password."""


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    params: tuple[tuple[str, str], ...] = ()


def describe(url: str) -> str:
    """The URL with its password (and a sentinel password) replaced by ***, for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        creds, _, hosts = netloc.rpartition("@")
        user = creds.split(":", 1)[0]
        netloc = f"{user}:***@{hosts}" if ":" in creds else f"{user}@{hosts}"
    query = "&".join(f"{k}={'***' if 'password' in k else v}" for k, v in parse_qsl(parts.query))
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def parse_sentinel(url: str) -> SentinelTarget:
    parts = urlsplit(url)
    shown = describe(url)
    creds, _, hosts = parts.netloc.rpartition("@")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise RedisUrlError(f"REDIS_URL {shown}: sentinel {item.strip()!r} is not HOST:PORT")
        sentinels.append((host.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise RedisUrlError(f"REDIS_URL {shown}: give the master's name after the sentinels, as "
                            "redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER_NAME[/DB]")
    if len(path) == 2 and not path[1].isdigit():
        raise RedisUrlError(f"REDIS_URL {shown}: the database {path[1]!r} is not a number")
    params = parse_qsl(parts.query)
    unknown = sorted({k for k, _ in params} - TLS_PARAMS - SENTINEL_PARAMS)
    if unknown:
        raise RedisUrlError(f"REDIS_URL {shown}: unknown parameter(s) {', '.join(unknown)} (known: "
                            f"{', '.join(sorted(TLS_PARAMS | SENTINEL_PARAMS))})")
    user, _, password = creds.partition(":") if creds else ("", "", "")
    return SentinelTarget(tuple(sentinels), unquote(path[0]), int(path[1]) if len(path) == 2 else 0,
                          SENTINEL_SCHEMES[parts.scheme], unquote(user) or None,
                          unquote(password) if password else None, tuple(params))


def problems(url: str) -> list[str]:
    """What is wrong with REDIS_URL's shape (reaching it is another matter): for check-config and
    the start, all at once."""
    scheme = urlsplit(url).scheme
    if scheme in SENTINEL_SCHEMES:
        try:
            parse_sentinel(url)
        except RedisUrlError as exc:
            return [str(exc)]
        return []
    if scheme not in PLAIN_SCHEMES:
        return [f"REDIS_URL {describe(url)}: the scheme must be one of redis://, rediss://, unix://, "
                "redis+sentinel://, rediss+sentinel://"]
    try:
        redis.ConnectionPool.from_url(url)
    except ValueError as exc:
        return [f"REDIS_URL {describe(url)}: {exc}"]
    return []


def connect(url: str, **options: Any) -> redis.Redis:
    """A client for REDIS_URL; `options` are redis-py connection settings (timeouts, retry,
    decode_responses) applied to the master's connections (and the sentinels' timeouts)."""
    if urlsplit(url).scheme not in SENTINEL_SCHEMES:
        found = problems(url)
        if found:
            raise RedisUrlError(found[0])
        return redis.Redis.from_url(url, **options)
    target = parse_sentinel(url)
    tls = _tls_options(target)
    extra = dict(target.params)
    sentinel_auth = {"username": extra.get("sentinel_username", target.username),
                     "password": extra.get("sentinel_password", target.password)}
    timeouts = {k: v for k, v in options.items() if k in ("socket_timeout", "socket_connect_timeout")}
    manager = Sentinel(list(target.sentinels), sentinel_kwargs={**timeouts, **tls, **sentinel_auth},
                       username=target.username, password=target.password, db=target.db, **tls)
    return manager.master_for(target.master, **options)


def _tls_options(target: SentinelTarget) -> dict[str, Any]:
    if not target.tls:
        return {}
    found: dict[str, Any] = {"ssl": True}
    for key, value in target.params:
        if key in TLS_PARAMS:
            found[key] = value.lower() in ("1", "true", "yes") if key == "ssl_check_hostname" else value
    return found


def variant(conn: redis.Redis, **overrides: Any) -> redis.Redis:
    """A new client on `conn`'s exact connection settings (TLS and its CA, ACL user, password,
    socket, Sentinel and its master) with `overrides` (timeouts, retry, decode_responses)."""
    pool = conn.connection_pool
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if k not in POOL_OWN}
    kwargs.update(overrides)
    if isinstance(pool, SentinelConnectionPool):
        return pool.sentinel_manager.master_for(pool.service_name, connection_class=pool.connection_class,
                                                **kwargs)
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs))
