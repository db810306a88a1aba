"""Fault 2: the text inside list files. One real `screening serve` on a real Redis ingests
three damaged files at once:

- the UK ConList CSV with one byte that is not UTF-8 (0xFF) in the middle. Before: the whole
  file was decoded as Windows-1252 without a word, and 3,052 non-Latin names went live as
  mojibake ('Ð—Ð\x90Ð”...'). Now: the file is rejected, naming the byte and its line; the
  UK source keeps its last good publication.
- the BIS Denied Persons List written in Windows-1252 (no UTF-8 in it at all): decoded as
  Windows-1252, and that fallback is logged and counted
  (screening_list_decode_fallback_total).
- the OFAC sdn.csv with NUL and ESC bytes inside a name. Before: they went live as they
  were. Now: removed, logged and counted (screening_list_control_characters_total).
"""

from __future__ import annotations

import shutil
import unicodedata

import grpc

from screening.sources.common import short_hash
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc
from tests.conftest import Service, start_redis, start_service
from tests.faults import hostile_files as hostile
from tests.faults.lists import data_status, get_entity, log_entries, metric, seed

PREFIX = "fault-list-text"
FALLBACK_LOG = "list file is not UTF-8; decoded as a legacy encoding"


def test_list_text_decoded_strictly_and_cleaned(lists_dir, tmp_path, fault_report):
    redis_server = start_redis()
    try:
        seed(redis_server.url, PREFIX, lists_dir, tmp_path, hostile.CONLIST_CSV)
        folder = tmp_path / "lists"
        folder.mkdir()
        hostile.csv_invalid_utf8(lists_dir, folder)
        hostile.legacy_encoded(lists_dir, folder)
        hostile.csv_nul_in_name(lists_dir, folder)
        service = start_service(redis_server.url, PREFIX, lists_dir=folder, workers=1)
        try:
            status = data_status(service)
            # One bad byte in a UTF-8 file: rejected, and the last good UK data stays live.
            [rejected] = log_entries(service, "list file rejected")
            assert rejected["source"] == "uk"
            assert "not valid UTF-8 at byte" in str(rejected["reason"])
            assert status["uk"].entity_count == 4688
            with_cyrillic = _entities_with_cyrillic_names(service)
            # A legacy file: read as Windows-1252, said so, counted.
            assert status["us-bis-dpl"].entity_count > 500
            row = ("AARÓN ABRAHAM VILLA", "3415 RIVERA AVENUE", "EL PASO", "", "08/24/2022")
            ref = short_hash(*row)
            assert get_entity(service, f"us-bis-dpl:{ref}").name == "AARÓN ABRAHAM VILLA"
            [fallback] = log_entries(service, FALLBACK_LOG)
            assert fallback["encoding"] == "cp1252"
            fallbacks = metric(
                service,
                "screening_list_decode_fallback_total",
                source="us-bis-dpl",
                encoding="cp1252",
            )
            assert fallbacks == 1
            # Control bytes in a name: removed, said so, counted.
            name = get_entity(service, "ofac-sdn:36").name
            assert name == "AEROCARIBBEAN AIRLINES"
            assert not any(unicodedata.category(c) == "Cc" for c in name)
            [cleaned] = log_entries(service, "control characters removed from list entries")
            assert cleaned["source"] == "ofac-sdn"
            removed = metric(service, "screening_list_control_characters_total", source="ofac-sdn")
            assert removed >= 1
            fault_report(
                uk=f"rejected ({str(rejected['reason'])[:90]}); kept {status['uk'].entity_count}",
                uk_cyrillic_names_intact=with_cyrillic,
                dpl_decode_fallbacks=fallbacks,
                ofac_fields_cleaned=removed,
                ofac_36=name,
            )
        finally:
            service.stop()
    finally:
        redis_server.stop()
        shutil.rmtree(redis_server.workdir, ignore_errors=True)


def _entities_with_cyrillic_names(service: Service) -> int:
    """A UK name written in Cyrillic, screened against the service, finds its entry: the
    live UK data is the good publication, not mojibake."""
    with grpc.insecure_channel(service.target) as channel:
        reply = pb_grpc.ScreeningServiceStub(channel).ScreenParty(
            pb.ScreenPartyRequest(party=pb.Party(name="ЗАДАЧИН Андрей Андреевич")), timeout=10
        )
    hits = [m for m in reply.matches if m.source == "uk"]
    assert hits and hits[0].score > 0.95, [(m.entity_id, m.score) for m in reply.matches]
    return len(hits)
