"""Upload tickets: the presigned POST policies, the embedded storage's POST endpoint that
enforces them as S3 does, and the sweep of objects left under expired tickets."""
