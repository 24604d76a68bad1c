"""Deployment: make run-scaled, the data services it and the suite start (services.py),
and the servers' configuration (gunicorn, nginx, systemd, Prometheus)."""
