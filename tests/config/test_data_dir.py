"""The data folder: created only where the embedded shape keeps something in it, and
private to the user the portal runs as.

A scaled process (PostgreSQL, Redis, S3) may run on a read-only file system; it used to
create the data folder at every start and fail there.

The embedded shape keeps patients' names, dates of birth, mobiles, sessions and TOTP
keys in the data folder's SQLite files, and their photos under it. It used to be 0755
with files 0644, readable by every local user: now everything the portal writes there
is 0700/0600, and a start refuses, in words and naming the command that fixes it, a
folder or a file in it that other users can read.
"""

from __future__ import annotations

import datetime
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.files import samples
from tests.support import clients
from tests.support.commands import python_in_a_fresh_process
from tests.support.embedded import api_key_for, embedded_shape, file_request
from tests.support.worker import wait_for

SETUP = "import django; django.setup(); from django.conf import settings; print(settings.DATA_DIR)"


def start(env_changes: dict[str, str], *, code: str = SETUP) -> subprocess.CompletedProcess:
    return python_in_a_fresh_process(
        code, env_changes=env_changes, without=("DATABASE_URL", "CELERY_BROKER_URL")
    )


# A scaled deployment sets its secret (without it, the portal keeps a per-install secret
# in the data folder, config/install_secret.py).
SCALED = {
    "DATABASE_URL": "postgres://portal@127.0.0.1:1/portal",
    "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
    "SECRET_KEY": "scaled-test-secret-key-0123456789-0123456789-abcdefghij",
}


@pytest.mark.slow  # starts a fresh Django process
@pytest.mark.parametrize(
    "unwritable", ["/proc/portal-data", "/proc/self/portal/data", "/sys/portal"]
)
def test_a_scaled_process_starts_where_the_data_folder_cannot_be_made(unwritable):
    """GIVEN the scaled shape's settings and a data folder that cannot be created
    WHEN Django starts THEN it starts (nothing asks for the folder)."""
    started = start({**SCALED, "PORTAL_DATA_DIR": unwritable})
    assert started.returncode == 0, started.stderr[-800:]


@pytest.mark.slow
def test_the_embedded_shape_still_makes_its_data_folder(tmp_path):
    """GIVEN the embedded shape (no DATABASE_URL) WHEN Django starts THEN the data folder is
    made (its SQLite database and broker live there)."""
    folder = tmp_path / "fresh" / "data"
    started = start({"PORTAL_DATA_DIR": str(folder)})
    assert started.returncode == 0, started.stderr[-800:]
    assert folder.is_dir()


@pytest.mark.slow  # starts a fresh Django process
def test_a_scaled_process_leaves_a_writable_data_folder_uncreated(tmp_path):
    """GIVEN the scaled shape and a data folder that does not exist WHEN Django starts THEN
    it is not created (a read-only deployment would have failed there)."""
    folder = tmp_path / "never" / "data"
    assert start({**SCALED, "PORTAL_DATA_DIR": str(folder)}).returncode == 0
    assert not folder.exists()


# --- private to the portal's user ---------------------------------------------------


def modes_under(folder: Path) -> dict[str, int]:
    """Every path under ``folder`` (itself included, as "."), with its permission bits."""
    found = {".": stat.S_IMODE(folder.lstat().st_mode)}
    for path in sorted(folder.rglob("*")):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def not_private(folder: Path) -> dict[str, str]:
    """Paths under ``folder`` whose mode is not 0700 (folders) or 0600 (anything else)."""
    wrong = {}
    for name, mode in modes_under(folder).items():
        wanted = 0o700 if (folder / name).is_dir() else 0o600
        if mode != wanted:
            wrong[name] = f"{mode:o}"
    return wrong


@pytest.mark.slow
@pytest.mark.xdist_group("embedded")
def test_a_fresh_embedded_run_writes_everything_private(tmp_path):
    """GIVEN a fresh data folder and the embedded shape as `make run` starts it (migrate,
    demo set-up, run_embedded), with SMS kept in the file outbox
    WHEN a patient sends a photo and it is processed
    THEN the folder and every folder in it are 0700 and every file 0600: the database,
    its WAL and shared memory, the broker, the beat schedule, the secret, the SMS outbox
    and the stored photo; while the shape runs and after Ctrl-C."""
    data_dir = tmp_path / "data"
    caller_umask = os.umask(0o022)  # a login shell's: the portal must not rely on its caller's
    try:
        check_everything_written_is_private(tmp_path, data_dir)
    finally:
        os.umask(caller_umask)


def check_everything_written_is_private(tmp_path: Path, data_dir: Path) -> None:
    with embedded_shape(
        tmp_path, extra_env={"SMS_BACKEND": "filerequests.sms.FileSmsBackend"}
    ) as shape:
        account_id, key = api_key_for(shape, "Private Clinic")
        created = file_request(
            clients.keyed(key),
            shape,
            account_id,
            mobile="+447777100321",
            date_of_birth="1970-01-02",
        )
        patient = clients.PatientBrowser(shape.url)
        assert patient.verify(created["shortLinkId"], datetime.date(1970, 1, 2)).status_code == 302
        confirmed = patient.upload(filename="IMG_1.JPG", data=samples.jpeg((320, 240)))
        assert confirmed.status_code == 200, confirmed.text
        file_id = confirmed.json()["fileId"].replace("-", "")

        def file_state() -> str:
            with shape.database() as db:
                row = db.execute("SELECT state FROM files_file WHERE id = ?", (file_id,))
                return row.fetchone()[0]

        wait_for(
            lambda: file_state() == "ready",
            timeout=180,
            interval=1,
            message=f"the photo never became ready:\n{shape.log()[-3000:]}",
        )
        wait_for(
            lambda: list(data_dir.glob("celerybeat-schedule*")),
            timeout=60,
            message="beat wrote no schedule",
        )
        written = modes_under(data_dir)
        for name in ("portal.sqlite3", "portal.sqlite3-wal", "broker.sqlite3", "secret_key"):
            assert name in written, sorted(written)
        assert any(name.startswith("sms/") for name in written), sorted(written)
        stored = [n for n in written if n.startswith("files/") and (data_dir / n).is_file()]
        assert stored, sorted(written)
        assert not_private(data_dir) == {}
    assert not_private(data_dir) == {}


# Reading the settings: what every process of the portal (a manage.py command, a gunicorn
# worker, a Celery process) does first, and where the data folder is judged, made and
# kept private. Loading the apps as well would cost four times the CPU (0.8 s against
# 0.2) and judge nothing more; the tests above, which prove that nothing after the
# settings asks for the folder, start Django whole.
READ_SETTINGS = "from django.conf import settings; print(settings.DATA_DIR)"


def start_embedded(data_dir: Path) -> subprocess.CompletedProcess:
    """A process of the embedded shape reading its settings."""
    return start({"PORTAL_DATA_DIR": str(data_dir)}, code=READ_SETTINGS)


def made_private(data_dir: Path) -> Path:
    """A data folder as a first start leaves it: 0700, its secret and database 0600."""
    assert start_embedded(data_dir).returncode == 0
    (data_dir / "portal.sqlite3").write_bytes(b"")
    (data_dir / "portal.sqlite3").chmod(0o600)
    assert not_private(data_dir) == {}
    return data_dir


def the_command_in(message: str) -> str:
    commands = re.findall(r"`([^`]+)`", message)
    assert len(commands) == 1, message
    return commands[0]


@pytest.mark.parametrize(
    "mode", [0o755, 0o750, 0o705, 0o711, 0o770, 0o777], ids=lambda mode: f"{mode:o}"
)
@pytest.mark.slow
def test_a_data_folder_other_users_can_reach_is_refused_in_words(tmp_path, mode):
    """GIVEN the embedded shape's data folder with permissions for its group or others
    WHEN a process starts THEN it refuses, naming the folder, its mode and the command
    that makes it private, and changes nothing; the command given works."""
    data_dir = made_private(tmp_path / "data")
    data_dir.chmod(mode)
    started = start_embedded(data_dir)
    assert started.returncode != 0
    message = started.stderr.strip().splitlines()[-1]
    assert str(data_dir) in message and f"mode {mode:o}" in message, message
    assert "other users" in message
    assert stat.S_IMODE(data_dir.stat().st_mode) == mode  # refused, not silently changed
    subprocess.run(the_command_in(message), shell=True, check=True)
    assert start_embedded(data_dir).returncode == 0


@pytest.mark.parametrize(
    "name, mode",
    [
        ("portal.sqlite3", 0o644),
        ("portal.sqlite3-wal", 0o644),
        ("portal.sqlite3-shm", 0o640),
        ("broker.sqlite3", 0o604),
        ("celerybeat-schedule", 0o644),
        ("secret_key", 0o640),
        ("left by an older run.txt", 0o666),
    ],
    ids=lambda value: f"{value:o}" if isinstance(value, int) else value,
)
@pytest.mark.slow
def test_a_file_in_the_data_folder_other_users_can_read_is_refused_in_words(tmp_path, name, mode):
    """GIVEN a private data folder holding one file other users can read (what an older
    version left: the database, its WAL, the broker, the beat schedule)
    WHEN a process starts THEN it refuses, naming the file, its mode and the command that
    makes it private; the command given works."""
    data_dir = made_private(tmp_path / "data")
    path = data_dir / name
    path.write_bytes(b"") if not path.exists() else None
    path.chmod(mode)
    started = start_embedded(data_dir)
    assert started.returncode != 0
    message = started.stderr.strip().splitlines()[-1]
    assert str(path) in message and f"mode {mode:o}" in message, message
    assert "other users" in message
    assert stat.S_IMODE(path.stat().st_mode) == mode
    subprocess.run(the_command_in(message), shell=True, check=True)
    restarted = start_embedded(data_dir)
    assert restarted.returncode == 0, restarted.stderr[-800:]


@pytest.mark.slow
def test_an_older_install_is_refused_once_with_one_command_for_everything(tmp_path):
    """GIVEN a data folder as the older version left it (0755, its files 0644)
    WHEN `manage.py migrate` runs (what `make run` does first) THEN it refuses, naming the
    folder and each file, with one command that fixes all of them; after that command it
    migrates."""
    data_dir = made_private(tmp_path / "data")
    for name in ("broker.sqlite3", "celerybeat-schedule"):
        (data_dir / name).write_bytes(b"")
    for path in data_dir.iterdir():
        path.chmod(0o644)
    data_dir.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update({"PORTAL_DATA_DIR": str(data_dir)})
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    refused = subprocess.run(
        migrate, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0
    message = refused.stderr.strip().splitlines()[-1]
    named = ("portal.sqlite3", "broker.sqlite3", "celerybeat-schedule", "secret_key")
    for path in (data_dir, *(data_dir / name for name in named)):
        assert str(path) in message, message
    subprocess.run(the_command_in(message), shell=True, check=True)
    done = subprocess.run(
        migrate, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not_private(data_dir) == {}


@pytest.mark.slow
def test_a_scaled_process_does_not_judge_a_data_folder_it_does_not_use(tmp_path):
    """GIVEN the scaled shape (its data is in PostgreSQL and S3) and a readable folder at
    PORTAL_DATA_DIR WHEN Django starts THEN it starts: the folder is not the portal's."""
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    (folder / "readme.txt").write_text("not the portal's")
    folder.chmod(0o755)
    assert start({**SCALED, "PORTAL_DATA_DIR": str(folder)}).returncode == 0
