"""gunicorn behind nginx (the scaled shape): ``gunicorn -c deploy/gunicorn.conf.py``.

The settings are config/gunicorn_conf.py's, the one configuration of both shapes; this
file only says that nginx is in front (plain gthread workers, an address and run folder
per port: PORTAL_BIND, PORTAL_RUN_DIR). Run from the checkout (the systemd units'
WorkingDirectory).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["PORTAL_GUNICORN_BEHIND_PROXY"] = "1"

from config.gunicorn_conf import *  # noqa: F403
