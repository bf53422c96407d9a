"""One Confluence request-rate budget shared by every ingest worker, kept in Redis.

A token bucket (`CONFLUENCE_RATE_LIMIT_PER_S`, burst of one second's worth) and a shared "not
before" time: a 429 anywhere pushes it to now + Retry-After, and every worker waits for it before its
next request. Both are Lua scripts run atomically by Redis, on Redis's clock (the workers' clocks
may differ). The Confluence client calls `acquire()` before every attempt and `back_off()` on a 429
(`sources.confluence.RequestBudget`); the container builds the budget when BROKER_URL is set.
"""

from __future__ import annotations

import hashlib
import logging
import time
from urllib.parse import urlsplit

import redis

log = logging.getLogger(__name__)

# KEYS: bucket hash, not-before key. ARGV: rate (tokens/s, 0 = no bucket), burst.
# Returns the seconds to wait before asking again ("0": go).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local not_before = tonumber(redis.call('GET', KEYS[2]) or '0')
if not_before > now then return tostring(not_before - now) end
local rate = tonumber(ARGV[1])
if rate <= 0 then return '0' end
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(wait)
"""

# KEYS: not-before key. ARGV: seconds. Moves the shared "not before" later, never earlier.
_BACK_OFF = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + seconds > current then
  redis.call('SET', KEYS[1], tostring(now + seconds), 'PX', math.ceil(seconds * 1000) + 1000)
end
return tostring(math.max(now + seconds, current) - now)
"""


def connect_redis(url: str) -> redis.Redis:
    """A Redis client whose every call is bounded by a timeout."""
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)


def redacted(url: str) -> str:
    """The URL without credentials, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


class RedisRequestBudget:
    """Shared by every process using the same Redis and the same Confluence base URL."""

    def __init__(self, client: redis.Redis, confluence_url: str, rate_per_s: float, broker: str = ""):
        scope = hashlib.sha256(confluence_url.encode()).hexdigest()[:12]
        self.keys = [f"confluence_rag:rate:{scope}:bucket", f"confluence_rag:rate:{scope}:not_before"]
        self.rate = max(0.0, rate_per_s)
        self.burst = max(1.0, self.rate)  # one second's worth
        self.broker = broker
        self._acquire = client.register_script(_ACQUIRE)
        self._back_off = client.register_script(_BACK_OFF)

    def acquire(self) -> None:
        while True:
            try:
                wait = float(self._acquire(keys=self.keys, args=[self.rate, self.burst]))
            except redis.RedisError as exc:
                raise RuntimeError(
                    f"the shared Confluence rate budget is unavailable (Redis at {self.broker}): {type(exc).__name__}"
                ) from exc
            if wait <= 0:
                return
            time.sleep(min(wait, 5.0))

    def back_off(self, seconds: float) -> None:
        try:
            waited = float(self._back_off(keys=self.keys[1:], args=[max(0.0, seconds)]))
        except redis.RedisError:
            log.warning("could not share a 429 back-off through Redis at %s", self.broker)
            return
        log.info("Confluence answered 429: every worker waits %.1f s", waited)
