"""deploy/prometheus/alerts.yml: rules Prometheus would load, about metrics the portal
really exposes, among them beat's last tick."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import promql_parser
import pytest
import yaml
from django.conf import settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from portal.ops.models import WorkerHeartbeat
from portal.ops.services import beat_lease_take

RULES = Path(settings.BASE_DIR) / "deploy" / "prometheus" / "alerts.yml"
SCRAPE = Path(settings.BASE_DIR) / "deploy" / "prometheus" / "scrape.yml"
TOKEN = "m3tr1cs-t0ken-for-alert-tests-0123456789"
DURATION = re.compile(r"^\d+[smhdwy]$")


def alerting_rules() -> list[dict]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_rule_has_a_valid_expression_severity_and_summary():
    """GIVEN the rule file WHEN read as Prometheus would THEN every rule is an alert with an
    expression that parses as PromQL, a duration Prometheus accepts, a severity and a
    summary; names are unique."""
    rules = alerting_rules()
    assert len(rules) >= 5
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), names
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        promql_parser.parse(rule["expr"])  # raises ValueError on a syntax error
        assert DURATION.match(rule.get("for", "0s")), rule
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule
        assert rule["annotations"]["summary"], rule


def test_beat_has_an_alert_on_its_last_tick():
    """GIVEN the rule file THEN an alert fires when beat has not ticked for two minutes."""
    [rule] = [r for r in alerting_rules() if "portal_beat_last_tick_seconds" in r["expr"]]
    assert re.sub(r"\s+", " ", rule["expr"]) == "time() - portal_beat_last_tick_seconds > 120"
    assert rule["labels"]["severity"] == "critical"


@pytest.mark.django_db
def test_every_metric_the_rules_name_is_exposed(client, settings):
    """GIVEN a portal with a beat and a worker that reported WHEN /metrics is scraped THEN
    every portal_* series the rules use is there (a renamed metric would silence its
    alert for good)."""
    settings.METRICS_TOKEN = TOKEN
    beat_lease_take(holder="a", lease_seconds=30)
    WorkerHeartbeat.objects.create(worker="w@a", seen_at=timezone.now() - dt.timedelta(seconds=5))
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    families = list(text_string_to_metric_families(response.content.decode()))
    exposed = {sample.name for family in families for sample in family.samples}
    # A counter with no row yet (no delivery has failed) is declared without samples.
    exposed |= {f"{f.name}_total" for f in families if f.type == "counter"}
    used = {name for rule in alerting_rules() for name in re.findall(r"\bportal_\w+", rule["expr"])}
    assert used, "the rules name no portal metric"
    assert used <= exposed, used - exposed


def test_the_scrape_job_is_the_one_the_rules_expect():
    """GIVEN scrape.yml THEN its job is the one `up{job=...}` watches, with a bearer token
    from a file and the rule file listed."""
    scrape = yaml.safe_load(SCRAPE.read_text())
    [job] = scrape["scrape_configs"]
    assert job["job_name"] == "clinic-portal"
    assert job["authorization"]["type"] == "Bearer" and job["authorization"]["credentials_file"]
    assert any('job="clinic-portal"' in rule["expr"] for rule in alerting_rules())
