"""Stored objects: writing, reading, listing and removing them, on S3 or the embedded
storage, and setting up the bucket (its lifecycle rule for temporary keys)."""
