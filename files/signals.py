"""Signals other apps listen to.

``file_processed(sender=File, file=<File>)`` is sent inside the processing
transaction, right after the file became ``ready`` or ``rejected``: a receiver's
writes (an attachment's ``processing_completed``, a file request's status, its
own events) commit together with the new state, or not at all.
"""

from django.dispatch import Signal

file_processed = Signal()
