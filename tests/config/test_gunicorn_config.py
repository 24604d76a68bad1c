"""One gunicorn configuration for both shapes: config/gunicorn_conf.py, which the scaled
shape's deploy/gunicorn.conf.py reads with nginx in front. Each is loaded as gunicorn
loads it, in a process of its own (loading sets the process's umask)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
LOAD = """
import json, sys
from gunicorn.config import Config
from gunicorn.app.base import Application
class Loader(Application):
    def init(self, parser, opts, args): pass
    def load(self): pass
loader = Loader.__new__(Loader)
loader.cfg = Config()
settings = loader.get_config_from_filename(sys.argv[1])
names = ("workers", "threads", "timeout", "keepalive", "max_requests", "max_requests_jitter",
         "accesslog", "errorlog", "logger_class", "worker_class", "bind", "wsgi_app",
         "control_socket_disable", "forwarded_allow_ips", "graceful_timeout")
print(json.dumps({name: settings.get(name) for name in names if name in settings}))
"""


def load(config: str, tmp_path: Path, **environment: str) -> tuple[dict, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("WEB_CONCURRENCY", "GUNICORN_WORKERS", "GUNICORN_THREADS", "PORT")
    }
    env.update({"PORTAL_DATA_DIR": str(tmp_path), **environment})
    done = subprocess.run(
        [sys.executable, "-c", LOAD, str(BASE_DIR / config)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout), done.stderr


def test_both_shapes_share_every_setting_but_those_a_proxy_changes(tmp_path):
    embedded, _ = load("config/gunicorn_conf.py", tmp_path)
    scaled, _ = load("deploy/gunicorn.conf.py", tmp_path)
    for shared in ("workers", "timeout", "keepalive", "max_requests", "max_requests_jitter",
                   "accesslog", "errorlog", "logger_class", "wsgi_app"):  # fmt: skip
        assert embedded[shared] == scaled[shared], shared
    assert embedded["logger_class"] == "config.gunicorn_logging.RedactingLogger"
    assert embedded["worker_class"] == "config.gunicorn_worker.GuardedThreadWorker"
    assert scaled["worker_class"] == "gthread"
    assert embedded["bind"] == "127.0.0.1:8000" and scaled["bind"] == "127.0.0.1:8101"
    assert embedded["control_socket_disable"] is True
    assert "forwarded_allow_ips" in scaled and "forwarded_allow_ips" not in embedded


@pytest.mark.parametrize("config", ["config/gunicorn_conf.py", "deploy/gunicorn.conf.py"])
def test_web_concurrency_sets_the_processes_of_either_shape(tmp_path, config):
    settings, said = load(config, tmp_path, WEB_CONCURRENCY="5")
    assert settings["workers"] == 5 and said == ""


@pytest.mark.parametrize("config", ["config/gunicorn_conf.py", "deploy/gunicorn.conf.py"])
def test_the_former_name_is_still_read_with_a_warning_naming_the_new_one(tmp_path, config):
    settings, said = load(config, tmp_path, GUNICORN_WORKERS="3")
    assert settings["workers"] == 3
    assert "set WEB_CONCURRENCY instead" in said
    both, said = load(config, tmp_path, GUNICORN_WORKERS="3", WEB_CONCURRENCY="4")
    assert both["workers"] == 4 and said == ""
