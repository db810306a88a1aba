"""The image's HEALTHCHECK command against a real server: 0 when SERVING, 1 when unreachable;
over (mutual) TLS when the server serves TLS."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from screening.cli.healthcheck import check
from tests.certs import Authority, write
from tests.conftest import free_port, start_service


def test_healthcheck_command(service):
    ok = subprocess.run([sys.executable, "-m", "screening.cli.healthcheck", service.target])
    assert ok.returncode == 0
    down = subprocess.run(
        [sys.executable, "-m", "screening.cli.healthcheck", f"127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
    )
    assert down.returncode == 1 and "unhealthy" in down.stderr


def test_healthcheck_over_mutual_tls(redis_server, lists_dir, tmp_path):
    """Beside a server that serves TLS and asks for client certificates, the healthcheck
    connects with the CA and client certificate it is given, and says what is missing."""
    ca, other = Authority("healthcheck CA"), Authority("another CA")
    server, client = ca.issue("localhost", server=True), ca.issue("probe", server=False)
    files = {
        "ca": write(tmp_path, "ca.pem", ca.pem),
        "other_ca": write(tmp_path, "other.pem", other.pem),
        "server_cert": write(tmp_path, "server.pem", server.cert),
        "server_key": write(tmp_path, "server.key", server.key),
        "client_cert": write(tmp_path, "client.pem", client.cert),
        "client_key": write(tmp_path, "client.key", client.key),
    }
    lists = tmp_path / "lists"
    lists.mkdir()
    shutil.copy(lists_dir / "un" / "UN_consolidated_2025-04-19.xml", lists)
    tls = {
        "SCREENING_TLS_CERT_FILE": str(files["server_cert"]),
        "SCREENING_TLS_KEY_FILE": str(files["server_key"]),
        "SCREENING_TLS_CLIENT_CA_FILE": str(files["ca"]),
    }
    svc = start_service(redis_server.url, "healthcheck-tls", lists_dir=lists, env=tls, wait=False)
    probe = {
        "SCREENING_TLS_CERT_FILE": str(files["server_cert"]),
        "SCREENING_HEALTHCHECK_CA_FILE": str(files["ca"]),
        "SCREENING_HEALTHCHECK_CERT_FILE": str(files["client_cert"]),
        "SCREENING_HEALTHCHECK_KEY_FILE": str(files["client_key"]),
    }
    try:
        deadline = time.monotonic() + 120
        while not check(svc.target, env=probe):
            assert svc.proc.poll() is None and time.monotonic() < deadline, svc.logs()[-2000:]
            time.sleep(0.5)
        ok = subprocess.run(
            [sys.executable, "-m", "screening.cli.healthcheck", svc.target],
            env={**os.environ, **probe},
        )
        assert ok.returncode == 0
        assert not check(svc.target, env={**probe, "SCREENING_HEALTHCHECK_CA_FILE": ""})
        assert not check(
            svc.target, env={**probe, "SCREENING_HEALTHCHECK_CA_FILE": str(files["other_ca"])}
        )
        no_client_cert = {k: v for k, v in probe.items() if "HEALTHCHECK_CERT" not in k}
        assert not check(svc.target, env=no_client_cert)  # a key alone: refused, no crash
        no_key = {k: v for k, v in no_client_cert.items() if "HEALTHCHECK_KEY" not in k}
        assert not check(svc.target, env=no_key)  # the server wants a client certificate
    finally:
        svc.stop()
