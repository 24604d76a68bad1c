"""Every example of README.md and docs/ runs, as written, against a live portal.

A reader pastes an example and changes nothing but the placeholders; an example that
answers 400 as written teaches a wrong client. So each fenced block is read from the
Markdown and treated by its fence's language:

- ```` ```bash ```` and ```` ```python ````: an example, run here; it must use the portal
  or a placeholder below (a block that uses none is reported, never run). bash runs with
  ``set -euo pipefail``; every ``curl`` (``--fail-with-body``) and every HTTP request
  made with ``requests`` (fhirpy, fhirclient) must answer 2xx (redirects too are
  failures), and a block that names the portal must make at least one request. Python
  must end without an exception, so a check an example shows (``verify(...)``) is made.
- ```` ```json ````: a body or answer shape shown on its own; it must parse.
- any other language (``sh`` for operator commands such as ``make run`` or
  ``manage.py backup``, ``text``, ``console``, none): shown, not run. Such a block may
  not name the portal (``https://portal.example.org``): an example against it must run.
- ```` ```bash no-run ```` (or ``python no-run``): the one way to keep a bash or python
  block from running; say beside it why.

Placeholders, the same in every example:

- ``https://portal.example.org``: the portal (replaced by the live test server);
- ``$API_KEY`` in bash, ``API_KEY`` in Python: the clinic's API key;
- ``$PATIENT_ID`` / ``PATIENT_ID``: a patient of that clinic (one ready photo on file);
- ``WEBHOOK_SECRET``, ``request_body_bytes``, ``request_headers`` (Python): an endpoint's
  ``whsec_`` secret and a webhook request exactly as the portal delivered it to it;
- ``x.jpg`` in the working folder: a photo.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from portal.accounts.services import api_key_create
from portal.audit.services import Actor
from portal.webhooks.services import (
    delivery_attempt,
    webhook_endpoint_create,
    webhook_endpoint_ping,
)
from tests.factories import PatientFactory
from tests.fhir.conftest import stored_file
from tests.filerequests.test_filerequests_api import SEED_004_EXAMPLE_REQUEST
from tests.files import samples

ROOT = Path(__file__).resolve().parents[2]
PORTAL = "https://portal.example.org"
RUN = {"bash", "python"}
PLACEHOLDERS = (PORTAL, "API_KEY", "PATIENT_ID", "WEBHOOK_SECRET", "request_body_bytes")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class Block:
    path: str
    line: int
    language: str
    flags: tuple[str, ...]
    text: str

    @property
    def runs(self) -> bool:
        return self.language in RUN and "no-run" not in self.flags

    @property
    def is_example(self) -> bool:
        """Runs, and against the portal or with its placeholders: nothing else is ever
        executed here (an operator's command tagged bash by mistake is reported, not run)."""
        return self.runs and any(name in self.text for name in PLACEHOLDERS)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of one Markdown file, indented ones (in lists) included."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        start, indent, fence = index, len(opening["indent"]), opening["fence"]
        info = opening["info"].split()
        body, index = [], index + 1
        while index < len(lines):
            closing = FENCE.match(lines[index])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            line = lines[index]
            body.append(line[indent:] if line[:indent].strip() == "" else line)
            index += 1
        blocks.append(
            Block(
                path=str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
                line=start + 1,
                language=info[0].lower() if info else "",
                flags=tuple(info[1:]),
                text="\n".join(body) + "\n",
            )
        )
        index += 1
    return blocks


def documented_blocks() -> list[Block]:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [block for path in paths for block in fenced_blocks(path)]


BLOCKS = documented_blocks()
EXAMPLES = [block for block in BLOCKS if block.is_example]

# Every curl answers 2xx or stops the example; each request is written to stderr.
BASH_PREAMBLE = """\
set -euo pipefail
curl() {
  command curl --silent --show-error --fail-with-body \\
    --write-out '%{stderr}HTTP %{http_code} %{method} %{url_effective}\\n' "$@"
}
"""

# Each request made through requests (fhirpy, fhirclient, a reader's own code) is
# written to stderr with its status, which the test then judges.
PYTHON_PREAMBLE = """\
import sys as _sys

import requests as _requests

_send = _requests.Session.send


def _send_and_record(self, request, **kwargs):
    response = _send(self, request, **kwargs)
    print(f"HTTP {{response.status_code}} {{request.method}} {{request.url}}", file=_sys.stderr)
    return response


_requests.Session.send = _send_and_record
{variables}
"""

REQUEST_LINE = re.compile(r"^HTTP (?P<status>\d{3}) (?P<method>\S+) (?P<url>\S+)$", re.M)
WEBHOOK_NAMES = ("WEBHOOK_SECRET", "request_body_bytes", "request_headers")


@pytest.fixture
def clinic(live_server, settings, account, tmp_path):
    """A clinic with a key and a patient with a ready photo, on the live server; the
    working folder holds x.jpg."""
    settings.PORTAL_PUBLIC_BASE_URL = live_server.url
    patient = PatientFactory(account=account, first_name="John", last_name="Smith")
    photo = samples.jpeg((640, 480))
    stored_file(account, patient, photo, name="IMG_0001.JPG", declared="image/jpeg")
    (tmp_path / "x.jpg").write_bytes(photo)
    return {
        "base": live_server.url,
        "API_KEY": api_key_create(account=account, name="documented examples").plaintext,
        "PATIENT_ID": str(patient.id),
        "account": account,
        "folder": tmp_path,
    }


def delivered_webhook(account, receiver) -> dict:
    """A webhook.ping delivered for real to a receiver: its secret, body and headers."""
    endpoint = webhook_endpoint_create(
        account=account, actor=Actor.system(), url=receiver.url(), events=["file.ready"]
    )
    delivery = webhook_endpoint_ping(endpoint=endpoint, actor=Actor.system())
    delivery_attempt(delivery_id=delivery.id)
    (received,) = receiver.requests
    return {
        "WEBHOOK_SECRET": endpoint.secret,
        "request_body_bytes": received.body,
        "request_headers": received.headers,
    }


def run_example(block: Block, clinic: dict, extra: dict) -> subprocess.CompletedProcess:
    text = block.text.replace(PORTAL, clinic["base"])
    env = {name: value for name, value in os.environ.items() if not name.lower().endswith("_proxy")}
    if block.language == "bash":
        env.update(API_KEY=clinic["API_KEY"], PATIENT_ID=clinic["PATIENT_ID"])
        command = ["bash", "-c", BASH_PREAMBLE + text]
    else:
        names = {"API_KEY": clinic["API_KEY"], "PATIENT_ID": clinic["PATIENT_ID"], **extra}
        variables = "\n".join(f"{name} = {value!r}" for name, value in names.items())
        command = [sys.executable, "-c", PYTHON_PREAMBLE.format(variables=variables) + text]
    return subprocess.run(
        command,
        cwd=clinic["folder"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_block_says_whether_it_runs():
    """GIVEN every fenced block of README.md and docs/
    WHEN each is read by its fence's language
    THEN every JSON block parses, every bash and python block is an example (it uses
    the portal or a placeholder; an operator's command is sh, so never run here), and no
    block that is only shown (sh, text, none...) names the portal: such examples run."""
    for block in BLOCKS:
        if block.runs:
            assert block.is_example, (
                f"{block}: a {block.language} block that uses no placeholder is not run; "
                f"tag operator commands sh, or add no-run with a reason"
            )
        elif block.language == "json":
            json.loads(block.text)
        elif not block.runs and "no-run" not in block.flags:
            assert PORTAL not in block.text, (
                f"{block}: a {block.language or 'plain'} block names the portal; "
                "tag it bash or python so it runs"
            )


def test_the_rules_sort_a_page_s_blocks(tmp_path):
    """GIVEN a page with an example of each kind, indented ones in a list among them
    WHEN its blocks are read
    THEN only the bash and python blocks that use a placeholder are examples; an
    operator's command is never one, whatever its fence says."""
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\nmake run\n```\n"
        "- a step\n\n  ```bash\n  curl https://portal.example.org/healthz\n  ```\n"
        "```bash\nsystemctl restart clinic-portal-web@8101\n```\n"
        "```python\nprint(API_KEY)\n```\n"
        "```python no-run\nprint(API_KEY)\n```\n"
        "````text\n```bash\ncurl $API_KEY\n```\n````\n"
        "```\nplain\n```\n",
        encoding="utf-8",
    )

    blocks = fenced_blocks(page)

    assert [(b.line, b.language, b.is_example) for b in blocks] == [
        (1, "sh", False),
        (6, "bash", True),
        (9, "bash", False),
        (12, "python", True),
        (15, "python", False),
        (18, "text", False),
        (23, "", False),
    ]
    assert blocks[1].text == "curl https://portal.example.org/healthz\n"
    assert blocks[2].runs and not blocks[2].is_example


def test_the_vendor_flows_the_readme_shows_are_examples_that_run():
    """GIVEN the README and docs/ (the integrator guide shows the vendor flows)
    WHEN their examples are collected
    THEN seed 004's example request (its own "accountId": "12") and Medable's photo
    upload (the property written as {"content": "x.jpg"}) are among those that run."""
    shell = "".join(block.text for block in EXAMPLES if block.language == "bash")
    assert SEED_004_EXAMPLE_REQUEST.strip() in shell
    assert '/photo" -o photo.json' in shell and """-d '{"content": "x.jpg"}'""" in shell


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("block", EXAMPLES, ids=str)
def test_documented_example_runs_as_written(block, clinic, webhook_receiver):
    """GIVEN a live portal, a clinic's key and patient, and an example of the docs
    WHEN the example runs as written, only the placeholders filled in
    THEN it ends without error and every request it made answered 2xx."""
    extra = {}
    if block.language == "python" and any(name in block.text for name in WEBHOOK_NAMES):
        extra = delivered_webhook(clinic["account"], webhook_receiver)

    result = run_example(block, clinic, extra)

    report = f"{block}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    assert result.returncode == 0, report
    requests_made = REQUEST_LINE.findall(result.stderr)
    assert all(status.startswith("2") for status, _, _ in requests_made), report
    if PORTAL in block.text:
        assert requests_made, report
