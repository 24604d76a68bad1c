"""deploy/systemd/: units systemd accepts, each run as the portal's own user in a sandbox
(read-only system, writable data folder only, no capabilities, no privilege to gain),
read the way systemd reads them, then checked by systemd-analyze where it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
UNITS = BASE_DIR / "deploy" / "systemd"
UNIT_FILES = sorted(path.name for path in UNITS.glob("*.service"))
DATA = "/var/lib/clinic-portal"

# What every unit must say, as systemd reads it (the last value of a setting wins).
SANDBOX = {
    "User": "clinic-portal",
    "Group": "clinic-portal",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "ProtectHome": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
    "UMask": "0077",
    "StateDirectory": "clinic-portal",
}


def service_section(path: Path) -> dict[str, list[str]]:
    """``[Service]``'s settings, every value of each in order (systemd allows repeats)."""
    values: dict[str, list[str]] = {}
    section = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service":
            name, _, value = line.partition("=")
            values.setdefault(name.strip(), []).append(value.strip())
    return values


def test_there_are_units_for_web_worker_and_beat():
    assert UNIT_FILES == [
        "clinic-portal-beat.service",
        "clinic-portal-web@.service",
        "clinic-portal-worker@.service",
    ]


@pytest.mark.parametrize("unit", UNIT_FILES)
def test_each_unit_runs_as_the_portal_user_in_a_sandbox(unit):
    """GIVEN a unit THEN it runs as clinic-portal (never root) with no capabilities, no new
    privileges, the system read-only but for the data folder, a private /tmp, no home
    folders, no devices, only the network families it needs and the system calls of a
    service."""
    service = service_section(UNITS / unit)
    for name, wanted in SANDBOX.items():
        assert service.get(name, [None])[-1] == wanted, (unit, name, service.get(name))
    assert DATA in " ".join(service.get("ReadWritePaths", [])), unit
    families = set(service["RestrictAddressFamilies"][-1].split())
    assert families == {"AF_INET", "AF_INET6", "AF_UNIX"}, families
    filters = service["SystemCallFilter"]
    assert "@system-service" in filters and "~@privileged" in filters, filters
    assert "root" not in service.get("User", [])
    assert all(not value.startswith("+") for value in service.get("ExecStart", []))


def test_the_portal_user_is_declared():
    """GIVEN the sysusers file THEN it makes the system user the units run as, at home in
    the data folder, without a login shell."""
    line = next(
        line
        for line in (UNITS / "clinic-portal.sysusers.conf").read_text().splitlines()
        if line.startswith("u ")
    )
    assert line.split()[1] == "clinic-portal"
    assert DATA in line and line.split()[-1] == "/usr/sbin/nologin"


def test_the_web_unit_writes_its_pid_and_socket_where_it_may():
    """GIVEN the read-only system THEN gunicorn's run folder is the unit's own /run folder."""
    service = service_section(UNITS / "clinic-portal-web@.service")
    assert "PORTAL_RUN_DIR=/run/clinic-portal" in service["Environment"]
    assert service["RuntimeDirectory"] == ["clinic-portal"]


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def installed_copy(unit: str, folder: Path) -> Path:
    """The unit as installed here: /opt/clinic-portal is this checkout (whose venv has the
    gunicorn and celery the units start), a template instantiated."""
    text = (UNITS / unit).read_text().replace("/opt/clinic-portal", str(BASE_DIR))
    name = unit.replace("@.service", "@8101.service")
    target = folder / name
    target.write_text(text)
    return target


@pytest.mark.skipif(not SYSTEMD_ANALYZE, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", UNIT_FILES)
def test_systemd_analyze_verifies_each_unit_and_rates_it_safe(unit, tmp_path):
    """GIVEN each unit WHEN systemd-analyze verifies it THEN no error or warning; and its
    offline security rating is 'OK' (exposure 2.0 or lower, from 9.2 'UNSAFE' unhardened)."""
    copy = installed_copy(unit, tmp_path)
    verified = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    rated = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", "--no-pager", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    exposure = re.search(r"Overall exposure level for \S+: (\d+\.\d)", rated.stdout)
    assert exposure, rated.stdout[-2000:] + rated.stderr
    assert float(exposure[1]) <= 2.0, rated.stdout[-3000:]
