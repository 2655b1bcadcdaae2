"""``ndrbot db copy``: a single host's SQLite state moved into PostgreSQL, every row, ready for
replicas; refused into a database that already holds anything."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.dmarc import Dmarc
from bot.store import open_database
from bot.store.alerts import AlertStore, NewAlert
from bot.store.chat import ChatStore
from handlers.card import Card, Tone
from handlers.watch.model import WatchKind
from knowledge import Catalogue
from tests.postgres import fresh_schema

NOW = datetime(2025, 12, 6, 12, 0, tzinfo=UTC)
SAMPLES = Path(__file__).resolve().parent.parent / "dmarc" / "samples"


def _fill(path: str, catalogue: Catalogue) -> None:
    db = open_database(path)
    chat, alerts = ChatStore(db), AlertStore(db)
    for n in range(3):
        alerts.add_watch(WatchKind.IP, f"192.0.2.{n}", who="U1", at=NOW, first_run_at=NOW)
    card = Card(title="Relay denied", tone=Tone.ERROR, meta={"place": "slack:C1"})
    alerts.enqueue(NewAlert("k1", "test", "s", card, (("slack", "C1"),)), at=NOW)
    chat.save_card("card-1", card)
    chat.set_tick("card-1", "reset-password", "U1", "2025-12-06T12:00:00Z")
    dmarc = Dmarc(db, catalogue, None, clock=lambda: NOW)
    (added,) = dmarc.ingest((SAMPLES / "google_rfc7489.xml").read_bytes(), source="test")
    assert added.status == "stored"
    db.close()


def test_copy_moves_every_row_into_postgresql_and_new_rows_follow(
    tmp_path: Path, catalogue: Catalogue, capsys: pytest.CaptureFixture[str]
) -> None:
    source = str(tmp_path / "ndrbot.sqlite3")
    _fill(source, catalogue)
    with fresh_schema() as url:
        assert main(["db", "copy", "--from", source, "--to", url]) == 0
        out = capsys.readouterr().out
        assert "watches: 3 rows" in out and "checklist_ticks: 1 rows" in out
        db = open_database(url)
        chat, alerts = ChatStore(db), AlertStore(db)
        assert [w.target for w in alerts.watches()] == ["192.0.2.0", "192.0.2.1", "192.0.2.2"]
        assert chat.ticks("card-1") == {"reset-password": ("U1", "2025-12-06T12:00:00Z")}
        assert [d.idempotency_key for d in alerts.claim_deliveries(NOW, "slack", until=NOW)] == [
            "k1|slack|C1"
        ]
        dmarc = Dmarc(db, catalogue, None, clock=lambda: NOW)
        assert dmarc.store.domains() == ["contoso.com"]
        assert dmarc.store.sources("contoso.com", "2000-01-01")
        # ids continue after the copied ones (no clash with a copied row)
        added = alerts.add_watch(WatchKind.IP, "192.0.2.9", who="U2", at=NOW, first_run_at=NOW)
        assert added.id == 4
        db.close()
        # a second copy into the now-filled database is refused, and changes nothing
        assert main(["db", "copy", "--from", source, "--to", url]) == 1
        assert "already holds rows: watches (4)" in capsys.readouterr().err


def test_copy_refuses_a_missing_file_and_the_same_database(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.sqlite3")
    assert main(["db", "copy", "--from", missing, "--to", "postgresql://h/db"]) == 2
    here = str(tmp_path / "a.sqlite3")
    open_database(here).close()
    assert main(["db", "copy", "--from", here, "--to", here]) == 2


def test_the_copy_knows_every_table_the_stores_create(database_target: str) -> None:
    from bot.store.copy import TABLES, migrate_all

    db = open_database(database_target)
    migrate_all(db)
    made = {t for t in TABLES if db.has_table(t)}
    assert made == set(TABLES)  # a table added without telling the copy fails here
    assert db.tables() == set(TABLES)
    db.close()
