"""A new clinic starts with the default reply templates."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from filerequests.replies import reply_templates_seed
from portal.accounts.models import Account


@receiver(post_save, sender=Account, dispatch_uid="filerequests.reply_templates_seed")
def account_created(sender, instance: Account, created: bool, raw: bool = False, **kwargs):
    if created and not raw:
        reply_templates_seed(account=instance)
