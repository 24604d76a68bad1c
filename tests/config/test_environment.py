"""One prefix for every variable the portal reads (config/environment.py): ``PORTAL_<WHAT>``;
the names of earlier releases still read, each named with its new name by ``manage.py
check``; and the deployer's page lists each variable once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.environment import FORMER_NAMES, PREFIX, Environment, env

BASE_DIR = Path(__file__).resolve().parents[2]
CONFIGURATION_PAGE = BASE_DIR / "docs" / "operations" / "configuration.md"
READ = re.compile(r'env\.(?:str|int|float|bool|list|db)\(\s*"(\w+)"')

# A variable of each kind the settings read, under its former name: (new name, kind, the
# value set, the value read).
FORMER_NAME_CASES = {
    "text": ("PORTAL_S3_BUCKET", "str", "clinic-files", "clinic-files"),
    "number": ("PORTAL_FILES_MAX_UPLOAD_BYTES", "int", "1234", 1234),
    "seconds": ("PORTAL_WEBHOOK_READ_TIMEOUT_SECONDS", "float", "2.5", 2.5),
    "flag": ("PORTAL_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "bool", "true", True),
    "list": ("PORTAL_ALLOWED_HOSTS", "list", "a.example,b.example", ["a.example", "b.example"]),
    "secret": ("PORTAL_SECRET_KEY", "str", "s3cret", "s3cret"),
}


@pytest.mark.parametrize("case", FORMER_NAME_CASES.values(), ids=FORMER_NAME_CASES)
def test_a_former_name_is_still_read_and_noted(case):
    """GIVEN a variable set only under its former name (no prefix) WHEN the settings read it
    THEN its value is used, and the former name is noted with the name to set instead."""
    name, kind, value, read = case
    former = name.removeprefix(PREFIX)
    environment = Environment({former: value})

    assert getattr(environment, kind)(name) == read
    assert environment.former_in_use == {former: name}


@pytest.mark.parametrize("case", FORMER_NAME_CASES.values(), ids=FORMER_NAME_CASES)
def test_the_new_name_wins_over_the_former(case):
    """GIVEN a variable set under both names WHEN read THEN the PORTAL_ one is used and
    nothing is noted: the former name is only a fallback."""
    name, kind, value, read = case
    environment = Environment({name: value, name.removeprefix(PREFIX): "something else"})

    assert getattr(environment, kind)(name) == read
    assert environment.former_in_use == {}


def test_neither_name_set_gives_the_default():
    environment = Environment({})

    assert environment.int("PORTAL_FILES_MAX_UPLOAD_BYTES", default=7) == 7
    assert environment.former_in_use == {}


@pytest.mark.parametrize(
    "unprefixed",
    ["PORTAL_DATA_DIR", "HOME", "MAX_UPLOAD_BYTES"],
    ids=["already prefixed", "not the portal's", "never a portal name"],
)
def test_only_the_portal_s_own_former_names_are_read(unprefixed):
    """GIVEN a variable that was never one of the portal's unprefixed names WHEN the prefixed
    name is read THEN it is not taken as a fallback (no stray variable of the machine's
    environment can configure the portal)."""
    environment = Environment({unprefixed: "x"})

    assert environment.str(PREFIX + unprefixed, default="") == ""
    assert environment.former_in_use == {}


def manage(*args: str, variables: dict[str, str]) -> subprocess.CompletedProcess:
    environment = {
        k: v for k, v in os.environ.items() if k not in FORMER_NAMES and not k.startswith(PREFIX)
    }
    environment.update({"PORTAL_ENVIRONMENT": "test", **variables})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # starts a fresh Django process
def test_check_names_each_former_name_in_use_and_its_new_name(tmp_path):
    """GIVEN an environment file of an earlier release (unprefixed names) WHEN the portal
    starts THEN the values are used, and ``manage.py check`` (which migrate and run_embedded
    run) warns once for each former name, naming the variable to set instead."""
    variables = {
        "PORTAL_DATA_DIR": str(tmp_path),
        "FILES_MAX_UPLOAD_BYTES": "1234",
        "FILE_REQUEST_TEXTS_PER_DAY": "3",
    }
    shown = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.FILES_MAX_UPLOAD_BYTES, s.FILE_REQUEST_TEXTS_PER_DAY)",
        variables=variables,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == "1234 3"

    checked = manage("check", variables=variables)
    assert checked.returncode == 0, checked.stderr
    warned = re.findall(
        r"\(config\.W001\) (\w+) is read under its former name: set (\w+)", checked.stderr
    )
    assert sorted(warned) == [
        ("FILES_MAX_UPLOAD_BYTES", "PORTAL_FILES_MAX_UPLOAD_BYTES"),
        ("FILE_REQUEST_TEXTS_PER_DAY", "PORTAL_FILE_REQUEST_TEXTS_PER_DAY"),
    ]


@pytest.mark.slow  # starts a fresh Django process
def test_check_is_quiet_under_the_new_names(tmp_path):
    checked = manage(
        "check", variables={"PORTAL_DATA_DIR": str(tmp_path), "PORTAL_FILES_MAX_UPLOAD_BYTES": "9"}
    )
    assert checked.returncode == 0, checked.stderr
    assert "config.W001" not in checked.stdout + checked.stderr


@pytest.mark.slow  # starts a fresh Django process
def test_the_former_settings_module_name_still_starts_the_portal(tmp_path):
    """GIVEN an environment file that names the settings where they were before
    (DJANGO_SETTINGS_MODULE=portal.settings) WHEN the portal starts THEN it runs on
    config.settings, with a warning naming the new module."""
    shown = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SETTINGS_MODULE)",
        variables={"PORTAL_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "portal.settings"},
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == "config.settings"
    assert "DJANGO_SETTINGS_MODULE=portal.settings" in shown.stderr
    assert "config.settings now" in shown.stderr


def documented_variables() -> list[str]:
    """Each variable named in the first column of the configuration page's tables."""
    names = []
    for line in CONFIGURATION_PAGE.read_text().splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split(" | ")[0])
    return names


def variables_read() -> set[str]:
    """Every variable the settings modules read, whatever the shape (read from the source:
    production's and the scaled shape's are not read by the suite's own settings)."""
    read = set(env.names)
    for module in (BASE_DIR / "config" / "settings").glob("*.py"):
        read |= set(
            re.findall(r'env\.(?:str|int|float|bool|list|db)\(\s*"(\w+)"', module.read_text())
        )
    return read


def test_the_configuration_page_lists_each_variable_the_settings_read_once():
    """GIVEN the settings WHEN the deployer's page is read THEN every variable the settings
    read is listed, once, under its PORTAL_ name; no former name is listed as a variable of
    its own."""
    documented = documented_variables()
    read = variables_read()

    assert sorted(name for name in read if documented.count(name) != 1) == []
    assert [name for name in documented if name in FORMER_NAMES] == []
    # PORT keeps its name: where `make run` serves, as platforms set it.
    assert sorted(name for name in read - {"PORT"} if not name.startswith(PREFIX)) == []


@pytest.mark.parametrize(
    "kind, value, words",
    [
        ("int", "fifty", "PORTAL_FILES_MAX_UPLOAD_BYTES must be a whole number, not 'fifty'."),
        ("int", "", "PORTAL_FILES_MAX_UPLOAD_BYTES must be a whole number, not ''."),
        ("float", "nan", "PORTAL_FILES_MAX_UPLOAD_BYTES must be a number, not 'nan'."),
        ("float", "soon", "PORTAL_FILES_MAX_UPLOAD_BYTES must be a number, not 'soon'."),
    ],
)
def test_a_value_that_is_not_of_its_kind_is_refused_naming_the_variable(kind, value, words):
    """GIVEN a variable set to what cannot be read as its kind WHEN the settings read it THEN
    the refusal names the variable, what it must be and what it was (django-environ's own
    is a bare ValueError naming none)."""
    reading = Environment({"PORTAL_FILES_MAX_UPLOAD_BYTES": value})
    with pytest.raises(ImproperlyConfigured) as refused:
        getattr(reading, kind)("PORTAL_FILES_MAX_UPLOAD_BYTES", default=1)
    assert str(refused.value) == words


def test_an_unreadable_database_url_is_named_without_its_password():
    """GIVEN a database URL django-environ cannot read (a port that is not a number) WHEN the
    settings read it THEN the refusal names the variable and what it must be, and neither it
    nor the error it came from (which a traceback prints) repeats the password."""
    reading = Environment({"PORTAL_DATABASE_URL": "postgres://portal:s3cret-pw@db:fivefour/portal"})
    with pytest.raises(ImproperlyConfigured) as refused:
        reading.db("PORTAL_DATABASE_URL", default="sqlite:///portal.sqlite3")
    assert str(refused.value) == (
        "PORTAL_DATABASE_URL must be a database URL "
        "(its value is not repeated: it may hold a password)."
    )
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_a_former_name_with_an_unreadable_value_is_named_as_set():
    reading = Environment({"FILES_MAX_UPLOAD_BYTES": "lots"})
    with pytest.raises(
        ImproperlyConfigured, match=r"^FILES_MAX_UPLOAD_BYTES must be a whole number"
    ):
        reading.int("PORTAL_FILES_MAX_UPLOAD_BYTES", default=1)
