"""The arithmetic of every throttle that counts failures: when a key locks, for how
long, when its count and its back-off are forgotten, and what Retry-After says.

Two shapes of count, each configured by a small policy object its caller builds
(the caller owns the rows, the key, the audit lines and the page):

* ``LockoutPolicy``: failures of one key (an e-mail address typed at the staff
  sign-in, a client address there, a patient's short link). The failure that reaches
  ``max_failures`` locks the key and starts the count again; each further lock-out of
  the same key lasts twice the last, from ``lockout`` up to ``lockout_max``
  (back-off, which OWASP recommends over a fixed pause). While locked even a right
  answer is refused, so a guess teaches nothing. Failures more than ``window`` apart
  are not added up, and the back-off is forgotten after ``memory`` without a failure
  (``None``: kept until a success, or for ever).
* ``WindowLimit``: failures of one key in a clock-aligned window (an hour), refused
  from the ``limit``-th until the window ends. No back-off: it caps one client's
  spray across many keys without locking anyone out for long.

The policy's ``columns`` name the fields of the caller's row that hold the count, so
each table keeps its own names. Time is always passed in (``now``): one request
decides with one instant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime.fromtimestamp(0, UTC)


def retry_after_seconds(until: datetime, now: datetime) -> int:
    """Whole seconds until ``until``, rounded up, and never less than 1: a pause ending
    within the second says 1 (not 0, which invites hammering at once, nor 2)."""
    return max(1, math.ceil((until - now).total_seconds()))


def minutes_to_wait(seconds: float) -> int:
    """What a person is told to wait, in whole minutes rounded up: a wait of 61 seconds
    is 2 minutes, so whoever comes back when told is never refused again. ``seconds``
    is more than 0 (a Retry-After is at least 1)."""
    return math.ceil(seconds / 60)


@dataclass(frozen=True)
class Pause:
    """A refusal in force: until when, and which keys (scopes) hold it."""

    until: datetime
    scopes: tuple[str, ...] = ()

    def retry_after_seconds(self, now: datetime) -> int:
        return retry_after_seconds(self.until, now)

    def minutes_to_wait(self, now: datetime) -> int:
        return minutes_to_wait(self.retry_after_seconds(now))


def latest_pause(pauses) -> Pause | None:
    """The pauses of several keys as one: until the latest end, naming every scope."""
    pauses = [pause for pause in pauses if pause is not None]
    if not pauses:
        return None
    return Pause(
        until=max(pause.until for pause in pauses),
        scopes=tuple(scope for pause in pauses for scope in pause.scopes),
    )


@dataclass(frozen=True)
class Columns:
    """Where a row keeps its count. ``last_failure_at`` may be None when the policy
    has neither a window nor a memory (nothing to age)."""

    failures: str = "failures"
    lockouts: str = "lockouts"
    locked_until: str = "locked_until"
    last_failure_at: str | None = "last_failure_at"

    def names(self) -> list[str]:
        """The fields a failure changes (for ``save(update_fields=...)``)."""
        names = [self.failures, self.lockouts, self.locked_until, self.last_failure_at]
        return [name for name in names if name is not None]


@dataclass(frozen=True)
class Failure:
    """One failure counted: which of the key's failures it was (1 for the first since
    the count began again) and the pause it started, if it reached the limit."""

    attempt: int
    pause: Pause | None


@dataclass(frozen=True)
class LockoutPolicy:
    """Failures per key, a lock-out at the limit, and a back-off between lock-outs."""

    scope: str
    max_failures: int
    lockout: timedelta
    lockout_max: timedelta
    window: timedelta | None = None
    memory: timedelta | None = None
    columns: Columns = Columns()

    def lockout_length(self, lockouts: int) -> timedelta:
        """The ``lockouts``-th lock-out: ``lockout``, then twice it, four times… up to
        ``lockout_max``."""
        seconds = self.lockout.total_seconds() * (2 ** max(0, lockouts - 1))
        return timedelta(seconds=min(seconds, self.lockout_max.total_seconds()))

    def locked_until(self, row) -> datetime | None:
        return getattr(row, self.columns.locked_until)

    def pause_of(self, row, now: datetime) -> Pause | None:
        """The pause in force on this row now (it holds until its end, not at it)."""
        until = self.locked_until(row)
        if until is None or until <= now:
            return None
        return Pause(until=until, scopes=(self.scope,))

    def failure_count(self, row, now: datetime) -> Failure:
        """Count one failure on ``row`` (changed in place; the caller saves
        ``columns.names()`` under its lock). Failures more than ``window`` after the
        last are a first failure; a key quiet for more than ``memory`` starts its
        back-off again."""
        columns = self.columns
        failures = getattr(row, columns.failures)
        lockouts = getattr(row, columns.lockouts)
        if columns.last_failure_at is not None:
            last = getattr(row, columns.last_failure_at)
            if last is not None and self.window is not None and now - last > self.window:
                failures = 0
            if last is not None and self.memory is not None and now - last > self.memory:
                lockouts = 0
            setattr(row, columns.last_failure_at, now)
        attempt = failures + 1
        pause = None
        if attempt >= self.max_failures:
            failures, lockouts = 0, lockouts + 1
            pause = Pause(until=now + self.lockout_length(lockouts), scopes=(self.scope,))
            setattr(row, columns.locked_until, pause.until)
        else:
            failures = attempt
        setattr(row, columns.failures, failures)
        setattr(row, columns.lockouts, lockouts)
        return Failure(attempt=attempt, pause=pause)

    def success_count(self, row, *, forget_back_off: bool) -> None:
        """A right answer: the count starts again; with ``forget_back_off`` the back-off
        and any pause too (changed in place, as ``failure_count``)."""
        setattr(row, self.columns.failures, 0)
        if forget_back_off:
            setattr(row, self.columns.lockouts, 0)
            setattr(row, self.columns.locked_until, None)


@dataclass(frozen=True)
class WindowLimit:
    """At most ``limit`` failures per key in each ``window``, aligned to the clock (an
    hour's window starts on the hour); once ``limit`` are counted, the key is refused
    until the window ends."""

    limit: int
    window: timedelta

    def window_start(self, now: datetime) -> datetime:
        return now - (now - EPOCH) % self.window

    def retry_after(self, failures: int, now: datetime) -> int | None:
        """Seconds until the key may fail again, or None while it is under the limit."""
        if failures < self.limit:
            return None
        return retry_after_seconds(self.window_start(now) + self.window, now)
