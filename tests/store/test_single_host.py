"""SQLite is for one host: ``ndrbot serve`` refuses a file on a network filesystem and warns when
a second server opens the same file; the doctor checks a PostgreSQL store like an SQLite one; the
one connection is safe to share between the event loop and the reader thread."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from bot.doctor import Verdict
from bot.doctor.storage import check_storage
from bot.server import single_host_guard
from bot.settings import SettingsError
from bot.store.chat import ChatStore
from bot.store.sqlite import SqliteDatabase, network_filesystem
from handlers.card import Card, Tone
from tests.postgres import fresh_schema

MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
fileserver:/export/ndrbot /srv/shared nfs4 rw,relatime 0 0
//nas/ndrbot /mnt/nas cifs rw 0 0
"""


def test_a_file_on_nfs_or_smb_is_a_network_file_and_a_local_one_is_not() -> None:
    assert network_filesystem("/srv/shared/ndrbot.sqlite3", MOUNTS) == "nfs4"
    assert network_filesystem("/mnt/nas/state/ndrbot.sqlite3", MOUNTS) == "cifs"
    assert network_filesystem("/var/lib/ndrbot/ndrbot.sqlite3", MOUNTS) is None
    assert network_filesystem(":memory:", MOUNTS) is None


def test_serve_refuses_an_sqlite_file_on_a_network_filesystem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("bot.server.network_filesystem", lambda path: "nfs4")
    with pytest.raises(SettingsError) as refused:
        single_host_guard(str(tmp_path / "ndrbot.sqlite3"))
    assert "network filesystem (nfs4)" in str(refused.value)
    assert "postgresql://" in str(refused.value)


def test_a_second_server_on_the_same_file_is_warned_with_the_first_ones_pid(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = str(tmp_path / "ndrbot.sqlite3")
    first = single_host_guard(path)
    assert first is not None and first.fd is not None
    with caplog.at_level(logging.WARNING, logger="ndrbot.server"):
        second = single_host_guard(path)
    assert second is not None and second.fd is None
    (warning,) = [r.getMessage() for r in caplog.records if "ndrbot serve" in r.getMessage()]
    assert f"pid {os.getpid()}" in warning and "PostgreSQL" in warning
    first.release()
    caplog.clear()
    third = single_host_guard(path)  # the first server stopped: no warning
    assert third is not None and third.fd is not None and not caplog.records
    third.release()


def test_single_host_guard_leaves_postgresql_alone() -> None:
    assert single_host_guard("postgresql://ndrbot@db.internal/ndrbot") is None


def test_the_doctor_checks_a_postgresql_store_and_never_shows_its_password() -> None:
    with fresh_schema() as url:
        findings = check_storage(url)
        assert [(f.check, f.verdict) for f in findings] == [
            ("database opens and takes a write", Verdict.PASS),
            ("migrations current", Verdict.PASS),
        ]
        assert "to apply at the next start" in findings[1].found  # a new database
    bad = "postgresql://ndrbot:hunter2-secret@127.0.0.1:9/ndrbot"  # nothing listens on port 9
    (finding,) = check_storage(bad)
    assert finding.verdict is Verdict.FAIL and "hunter2" not in finding.found
    assert "127.0.0.1" in finding.found and "may create tables" in finding.fix


def test_ndrbot_db_is_a_path_or_a_postgresql_url_and_a_typo_says_so() -> None:
    from bot.settings import Settings

    url = "postgresql://ndrbot:pw@db.internal/ndrbot"
    assert Settings.from_env({"NDRBOT_DB": url}).db_path == url
    assert Settings.from_env({"NDRBOT_DB": "/var/lib/ndrbot/x.sqlite3"}).db_path.endswith(
        "x.sqlite3"
    )
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"NDRBOT_DB": "mysql://ndrbot:secret-pw@db.internal/ndrbot"})
    assert "postgresql://" in str(refused.value) and "secret-pw" not in str(refused.value)


def test_a_read_on_another_thread_never_sees_a_write_that_is_rolled_back(tmp_path: Path) -> None:
    """``ndrbot serve`` saves cards on its reader thread while the event loop loads them, over
    one SQLite connection: a load must wait for the other thread's transaction, not read inside
    it (it would show a card that was never saved)."""
    db = SqliteDatabase(tmp_path / "ndrbot.sqlite3")
    chat = ChatStore(db)
    inside, read_done = threading.Event(), threading.Event()
    seen: list[Card | None] = []

    def reader() -> None:
        inside.wait(5)
        seen.append(chat.load_card("c1"))
        read_done.set()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO cards (card_id, card, created_at) VALUES (?, ?, ?)",
                ("c1", '{"title": "never saved"}', "2026-12-06T00:00:00+00:00"),
            )
            inside.set()
            assert not read_done.wait(0.3)  # the read waits for the transaction
            raise RuntimeError("the save failed")
    except RuntimeError:
        pass
    thread.join(5)
    assert seen == [None]
    chat.save_card("c2", Card(title="Saved", tone=Tone.SUCCESS))
    assert chat.load_card("c2") is not None
    db.close()
