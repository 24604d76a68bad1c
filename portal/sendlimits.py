"""How often the portal sends one text or e-mail that a caller can ask for again.

A staff member or an integrating system can resend a request's text message, and
anyone can ask for a password reset e-mail. Unlimited, either floods a patient's
phone or a colleague's inbox, and every text costs the clinic. Each such message has
a ``SendLimit``: a cooldown after the last one, and a cap on how many go in any 24
hours (rolling, not a calendar day). The caller keeps the times of what was sent
(a request's notifications, the reset throttle's row) and asks ``refusal`` before
sending, under a lock on that record so two asks at once cannot both pass.

Not portal.throttle's lock-out: a send limit counts what was let through (never a
failure), refuses before the next send rather than after a limit of failures, and has
no back-off. It shares that module's Retry-After and minutes, so every refusal rounds
the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from portal.throttle import minutes_to_wait, retry_after_seconds

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Refusal:
    """Why nothing is sent now, and when the next send will be allowed."""

    retry_at: datetime
    # "cooldown": the last one was sent too recently; "daily_cap": the day's are used.
    reason: str
    per_day: int
    cooldown: timedelta

    def retry_after_seconds(self, now: datetime) -> int:
        return retry_after_seconds(self.retry_at, now)

    def cooldown_words(self) -> str:
        """``less than a minute`` (or ``less than 5 minutes``): how recent the last was."""
        minutes = minutes_to_wait(self.cooldown.total_seconds())
        return "less than a minute" if minutes == 1 else f"less than {minutes} minutes"

    def try_again_words(self, now: datetime) -> str:
        """``Try again in 1 minute.`` or ``Try again after 14:05 tomorrow.``"""
        seconds = self.retry_after_seconds(now)
        if seconds <= 60 * 60:
            minutes = minutes_to_wait(seconds)
            return f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        return f"Try again after {at_words(self.retry_at, now)}."


def at_words(moment: datetime, now: datetime) -> str:
    """``14:05``, or ``14:05 tomorrow``, in the portal's time zone."""
    local, today = timezone.localtime(moment), timezone.localtime(now).date()
    return local.strftime("%H:%M") + (" tomorrow" if local.date() > today else "")


@dataclass(frozen=True)
class SendLimit:
    cooldown: timedelta
    per_day: int

    def refusal(self, sent: Iterable[datetime], now: datetime) -> Refusal | None:
        """None when one more may be sent now; else why not and until when. ``sent``:
        the times of earlier sends (older than 24 hours are ignored)."""
        recent = sorted(moment for moment in sent if moment > now - DAY)
        if recent and now - recent[-1] < self.cooldown:
            return self.refused(recent[-1] + self.cooldown, "cooldown")
        if len(recent) >= self.per_day:
            # The day's cap is used: the next may go when the oldest that counts is a
            # day old (with a cap of 5, the 5th latest).
            return self.refused(recent[-self.per_day] + DAY, "daily_cap")
        return None

    def refused(self, retry_at: datetime, reason: str) -> Refusal:
        return Refusal(
            retry_at=retry_at, reason=reason, per_day=self.per_day, cooldown=self.cooldown
        )
