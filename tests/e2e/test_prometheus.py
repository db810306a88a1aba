"""A real Prometheus scrapes the running service: every dashboard query and every alert
expression must parse and return data from the service's real metrics.

Prometheus (Debian package `prometheus`) scrapes the session service every second and
evaluates deploy/prometheus/alerts.yml; the test sends traffic (good and bad calls), then asks
Prometheus' HTTP API. Alert expressions compare one recorded series with a threshold; the
test evaluates each with `bool`, so a quiet alert still shows that its series has data.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from screening.v1 import screening_pb2 as pb
from tests.conftest import ROOT, Service, free_port

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "screening.json"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
# Values for the dashboard's variables, as Grafana would substitute them.
VARIABLES = {"$__rate_interval": "1m", "$job": "screening", "$instance": ".*"}
COMPARISON = re.compile(r"\s(>=|<=|==|!=|>|<)\s")


def api(base: str, path: str, **params: str) -> dict:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as exc:  # 400: the query does not parse
        return json.loads(exc.read())


def query(base: str, expr: str) -> list[dict]:
    reply = api(base, "/api/v1/query", query=expr)
    assert reply["status"] == "success", f"{expr}\n-> {reply.get('error')}"
    return reply["data"]["result"]


def finite(result: list[dict]) -> bool:
    return any(math.isfinite(float(sample["value"][1])) for sample in result)


@pytest.fixture(scope="module")
def prometheus(service: Service) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed (./deploy/local/setup.sh --dev installs it)")
    workdir = Path(tempfile.mkdtemp(prefix="test-prometheus-"))
    shutil.copy(PROMETHEUS_DIR / "alerts.yml", workdir / "alerts.yml")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [
            {
                "job_name": "screening",
                "static_configs": [{"targets": [f"127.0.0.1:{service.metrics_port}"]}],
            }
        ],
    }
    (workdir / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("prometheus did not start")
        time.sleep(0.2)
    # Target discovery takes a few seconds: traffic must come after the first scrape, so
    # that rates have two samples to work with.
    while not query(base, 'up{job="screening"} == 1'):
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("prometheus did not scrape the service")
        time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def traffic(prometheus: str, stub) -> str:  # type: ignore[no-untyped-def]
    """A few seconds of calls (clear, review, block, bad input, not found, compare), then
    wait until Prometheus holds their counts."""
    names = ["LIMITED LIABILITY COMPANY AURUS", "Anna Smith", "Atlas Trading GmbH", "ALI HASSAN"]
    sent = 0
    until = time.monotonic() + 4
    while time.monotonic() < until:
        for name in names:
            stub.ScreenParty(pb.ScreenPartyRequest(party=pb.Party(name=name)), timeout=10)
            sent += 1
        stub.CompareParties(
            pb.ComparePartiesRequest(
                left=pb.Party(name="Anna Smith"), right=pb.Party(name="A Smith")
            ),
            timeout=10,
        )
        stub.ScreenShipment(
            pb.ScreenShipmentRequest(
                parties=[
                    pb.Party(name="Hanil Precision Controls", role=pb.PARTY_ROLE_SUPPLIER),
                    pb.Party(name=names[0], role=pb.PARTY_ROLE_CONSIGNEE),
                ],
                goods=[pb.GoodsItem(hs_code="853710")],
                route=pb.Route(origin_country="KR", destination_country="RU"),
            ),
            timeout=10,
        )
        batch = [
            pb.ScreenPartiesRequest(request=pb.ScreenPartyRequest(party=pb.Party(name=name)))
            for name in names
        ]
        assert len(list(stub.ScreenParties(iter(batch), timeout=10))) == len(names)
        for bad in (
            lambda: stub.ScreenParty(pb.ScreenPartyRequest(party=pb.Party(name="")), timeout=10),
            lambda: stub.GetEntity(pb.GetEntityRequest(entity_id="ofac-sdn:0"), timeout=10),
        ):
            with pytest.raises(grpc.RpcError):
                bad()
        time.sleep(0.2)
    expr = 'sum(grpc_server_handled_total{job="screening", grpc_method="ScreenParty"})'
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = query(prometheus, expr)
        if result and float(result[0]["value"][1]) >= sent:
            return prometheus
        time.sleep(0.5)
    pytest.fail(f"Prometheus did not see the {sent} ScreenParty calls")


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = []
    for panel in dashboard["panels"]:
        panels += [panel, *panel.get("panels", [])]
    out = []
    for panel in panels:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, value in VARIABLES.items():
                expr = expr.replace(name, value)
            out.append((panel["title"], expr))
    return out


def test_dashboard_has_the_sections_that_matter():
    titles = " | ".join(title for title, _ in dashboard_queries()).lower()
    for needed in ("requests per second", "error", "latency", "decisions", "by list", "age"):
        assert needed in titles, needed
    assert len(dashboard_queries()) >= 15


def test_every_dashboard_query_returns_data(traffic: str):
    empty = []
    for title, expr in dashboard_queries():
        result = query(traffic, expr)
        if not finite(result):
            empty.append(f"{title}: {expr} -> {result}")
    assert not empty, "\n".join(empty)


def test_stock_grpc_dashboard_names_and_labels(traffic: str):
    """What the stock Grafana gRPC dashboards (go-grpc-prometheus metrics) query."""
    by_code = query(
        traffic, 'sum by (grpc_code) (grpc_server_handled_total{grpc_method="ScreenParty"})'
    )
    codes = {s["metric"]["grpc_code"] for s in by_code}
    assert {"OK", "InvalidArgument"} <= codes
    assert query(
        traffic, 'grpc_server_handled_total{grpc_method="GetEntity", grpc_code="NotFound"}'
    )
    for name in (
        "grpc_server_started_total",
        "grpc_server_msg_received_total",
        "grpc_server_msg_sent_total",
        "grpc_server_handling_seconds_bucket",
    ):
        samples = query(traffic, f'{name}{{grpc_method="ScreenParty"}}')
        assert samples, name
        labels = samples[0]["metric"]
        assert labels["grpc_type"] == "unary"
        assert labels["grpc_service"] == "screening.v1.ScreeningService"


def test_every_kind_of_screening_is_counted(traffic: str):
    kinds = query(traffic, "sum by (kind) (screening_decisions_total)")
    counted = {s["metric"]["kind"]: float(s["value"][1]) for s in kinds}
    assert all(counted.get(kind, 0) > 0 for kind in ("party", "shipment", "batch")), counted
    stream = query(
        traffic,
        'grpc_server_msg_received_total{grpc_method="ScreenParties", grpc_type="bidi_stream"}',
    )
    assert stream and float(stream[0]["value"][1]) >= 4


def rules(base: str) -> list[dict]:
    """Every loaded rule, once all have been evaluated at least once."""
    deadline = time.monotonic() + 30
    while True:
        loaded = [
            rule
            for group in api(base, "/api/v1/rules")["data"]["groups"]
            for rule in group["rules"]
        ]
        if loaded and all(rule["health"] != "unknown" for rule in loaded):
            return loaded
        assert time.monotonic() < deadline, "rules were not evaluated"
        time.sleep(0.5)


def test_promtool_accepts_config_and_rules():
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with the prometheus package"
    for args in (
        ["check", "config", str(PROMETHEUS_DIR / "prometheus.yml")],
        ["check", "rules", str(PROMETHEUS_DIR / "alerts.yml")],
    ):
        run = subprocess.run([promtool, *args], capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stdout + run.stderr


def test_alert_rules_evaluate_on_real_metrics(traffic: str):
    loaded = rules(traffic)
    alerts = {r["name"]: r for r in loaded if r["type"] == "alerting"}
    assert {
        "ScreeningListStale",
        "ScreeningHighErrorRatio",
        "ScreeningHighLatency",
        "ScreeningRedisUnreachable",
    } <= set(alerts)
    for rule in loaded:
        assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"
        if rule["type"] == "recording":
            assert finite(query(traffic, rule["name"])), f"recorded {rule['name']} has no data"
    for name, rule in alerts.items():
        comparisons = COMPARISON.findall(rule["query"])
        assert len(comparisons) == 1, f"{name}: compare one series with one threshold"
        truth = COMPARISON.sub(lambda m: f" {m.group(1)} bool ", rule["query"])
        assert finite(query(traffic, truth)), f"{name}: {truth} has no data"


def test_stale_list_alert_sees_old_publications(traffic: str):
    """The shared list files were published in 2019-2026, every one past its source's
    maximum age (no refresh confirms them): the stale series the alert fires on says so,
    beside each source's age and limit."""
    stale = query(traffic, "source:screening_list_stale:max > 0")
    assert {s["metric"]["source"] for s in stale} >= {"ofac-sdn", "un", "uk", "ca-sema"}
    limits = {
        s["metric"]["source"]: float(s["value"][1])
        for s in query(traffic, "screening_list_max_age_seconds")
    }
    assert limits["ofac-sdn"] == 7 * 86400 and limits["ca-sema"] == 30 * 86400
    over = query(traffic, "screening_list_data_age_seconds > screening_list_max_age_seconds")
    assert {s["metric"]["source"] for s in over} >= {"ofac-sdn"}
    assert not query(traffic, "instance:screening_redis_up:min < 1")
