"""The store as replicas share it: every test runs on SQLite and on PostgreSQL, and two stores
opened on the same target stand for two processes (a replica, the CLI beside the server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import Database, open_database
from bot.store.alerts import AlertStore, NewAlert
from bot.store.chat import ChatStore
from handlers.card import Card, Tone
from handlers.watch.model import WatchKind

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def two(database_target: str) -> Iterator[tuple[Database, Database]]:
    """Two processes' handles on one database."""
    first, second = open_database(database_target), open_database(database_target)
    yield first, second
    first.close()
    second.close()


def _alert(key: str) -> NewAlert:
    card = Card(title=f"alert {key}", tone=Tone.ERROR)
    return NewAlert(key=key, kind="test", subject=key, card=card, destinations=(("slack", "C1"),))


def test_a_message_is_answered_once_whichever_replica_sees_it(
    two: tuple[Database, Database],
) -> None:
    a, b = ChatStore(two[0]), ChatStore(two[1])
    assert a.first_time("slack", "C1", "1700000000.000100")
    assert not b.first_time("slack", "C1", "1700000000.000100")  # Slack's retry, elsewhere
    assert b.first_time("slack", "C1", "1700000000.000200")


def test_a_card_its_ticks_and_references_are_read_back_by_the_other_replica(
    two: tuple[Database, Database],
) -> None:
    a, b = ChatStore(two[0]), ChatStore(two[1])
    first = Card(title="first", tone=Tone.INFO, meta={"place": "slack:C1"})
    second = Card(title="second", tone=Tone.INFO, meta={"place": "slack:C1"})
    a.save_card("card-1", first)
    a.save_card("card-2", second)
    b.set_tick("card-1", "reset-password", "U1", "2026-12-06T09:00:00Z")
    b.set_tick("card-1", "reset-password", "U2", "2026-12-06T09:01:00Z")  # ticked again
    a.save_card("card-1", first)  # re-rendered after the tick: the tick stays
    assert b.ticks("card-1") == {"reset-password": ("U2", "2026-12-06T09:01:00Z")}
    assert [card_id for card_id, _ in b.cards_at("slack:C1")] == ["card-1", "card-2"]
    card = b.load_card("card-2")
    assert card is not None and card.title == "second"
    a.save_reference("teams", "19:x", {"serviceUrl": "https://smba.example/"})
    a.save_reference("teams", "19:x", {"serviceUrl": "https://smba.example/emea/"})
    assert b.reference("teams", "19:x") == {"serviceUrl": "https://smba.example/emea/"}
    b.set_setting("alerts.slack", "C1", "U1")
    b.set_setting("alerts.slack", "C2", "U2")
    assert a.setting("alerts.slack") == "C2"


def test_due_watches_are_claimed_by_one_replica_and_lapse_if_it_dies(
    two: tuple[Database, Database],
) -> None:
    a, b = AlertStore(two[0]), AlertStore(two[1])
    for n in range(6):
        a.add_watch(WatchKind.IP, f"192.0.2.{n}", who="U1", at=NOW, first_run_at=NOW)
    mine = a.claim_due_watches(NOW, until=NOW + timedelta(minutes=10), limit=4)
    theirs = b.claim_due_watches(NOW, until=NOW + timedelta(minutes=10))
    assert len(mine) == 4 and len(theirs) == 2
    assert not {w.id for w in mine} & {w.id for w in theirs}
    assert b.claim_due_watches(NOW + timedelta(minutes=5), until=NOW + timedelta(minutes=15)) == []
    # the first replica dies holding its claims: ten minutes on, the others take them over
    later = NOW + timedelta(minutes=10)
    assert len(b.claim_due_watches(later, until=later + timedelta(minutes=10))) == 6


def test_a_run_saved_gives_its_claim_back_with_the_next_time(
    two: tuple[Database, Database],
) -> None:
    a, b = AlertStore(two[0]), AlertStore(two[1])
    a.add_watch(WatchKind.DOMAIN, "contoso.com", who="U1", at=NOW, first_run_at=NOW)
    (watch,) = a.claim_due_watches(NOW, until=NOW + timedelta(minutes=10))
    state, version = a.state(watch.id)
    nxt = NOW + timedelta(hours=1)
    assert a.record_run(
        watch, version=version, state=state, checked_at=NOW, next_run_at=nxt, alerts=()
    )
    assert b.claim_due_watches(nxt - timedelta(seconds=1), until=nxt) == []  # not due yet
    assert [w.target for w in b.claim_due_watches(nxt, until=nxt + timedelta(minutes=10))] == [
        "contoso.com"
    ]


def test_outbox_rows_are_claimed_once_and_a_platform_hold_is_shared(
    two: tuple[Database, Database],
) -> None:
    a, b = AlertStore(two[0]), AlertStore(two[1])
    for n in range(5):
        assert a.enqueue(_alert(f"k{n}"), at=NOW)
    assert not b.enqueue(_alert("k0"), at=NOW)  # the same alert from the other replica
    lease = NOW + timedelta(minutes=2)
    mine = a.claim_deliveries(NOW, "slack", until=lease, limit=3)
    theirs = b.claim_deliveries(NOW, "slack", until=lease, limit=5)
    assert [d.idempotency_key for d in mine] == ["k0|slack|C1", "k1|slack|C1", "k2|slack|C1"]
    assert [d.idempotency_key for d in theirs] == ["k3|slack|C1", "k4|slack|C1"]
    assert a.claim_deliveries(NOW, "slack", until=lease, limit=5) == []  # all held
    later = lease  # both died mid-send: once the leases run out, every row can be claimed again
    assert len(a.claim_deliveries(later, "slack", until=later + timedelta(minutes=2), limit=9)) == 5
    a.set_hold("slack", NOW + timedelta(seconds=30))
    a.set_hold("slack", NOW + timedelta(seconds=5))  # a shorter wait never shortens the hold
    assert b.hold("slack") == NOW + timedelta(seconds=30)
    assert b.hold("teams") is None


def test_a_claim_that_lapsed_and_was_taken_over_is_no_longer_the_first_processs(
    two: tuple[Database, Database],
) -> None:
    a, b = AlertStore(two[0]), AlertStore(two[1])
    a.enqueue(_alert("k1"), at=NOW)
    (slow,) = a.claim_deliveries(NOW, "slack", until=NOW + timedelta(seconds=60))
    later = NOW + timedelta(seconds=61)  # a's post hangs past its lease; b takes the row over
    (taken,) = b.claim_deliveries(later, "slack", until=later + timedelta(seconds=60))
    assert taken.id == slow.id
    assert not a.count_attempt(slow.id)  # a must not post it now
    a.mark_retry(slow.id, next_attempt_at=later, error="late")  # nor undo b's claim
    assert b.count_attempt(taken.id)
    b.mark_sent(taken.id, at=later, message_id="1.0")
    (row,) = a.outbox()
    assert row["sent_at"] and row["attempts"] == 1 and row["last_error"] is None


def test_the_same_bounce_posted_to_two_replicas_is_taken_once(
    two: tuple[Database, Database],
) -> None:
    a, b = AlertStore(two[0]), AlertStore(two[1])
    day = timedelta(days=1)
    assert a.claim_intake("d1", at=NOW, since=NOW - day)
    assert not b.claim_intake("d1", at=NOW + timedelta(seconds=1), since=NOW - day)
    b.release_intake("d1", since=NOW - day)  # the first copy was not kept: the next is taken
    assert b.claim_intake("d1", at=NOW + timedelta(seconds=2), since=NOW - day)
    later = NOW + 2 * day  # a day on, the same bytes are a new bounce
    assert a.claim_intake("d1", at=later, since=later - day)


def test_replicas_claiming_at_the_same_moment_never_share_a_row(database_target: str) -> None:
    setup = AlertStore(open_database(database_target))
    for n in range(40):
        setup.add_watch(WatchKind.IP, f"198.51.100.{n}", who="U1", at=NOW, first_run_at=NOW)
        setup.enqueue(_alert(f"k{n}"), at=NOW)
    setup.db.close()
    claimed: list[list[int]] = []
    sent: list[list[int]] = []
    start = threading.Barrier(4)

    def replica() -> None:
        store = AlertStore(open_database(database_target))
        start.wait()
        mine, out = [], []
        while batch := store.claim_due_watches(NOW, until=NOW + timedelta(minutes=1), limit=3):
            mine += [w.id for w in batch]
        while rows := store.claim_deliveries(
            NOW, "slack", until=NOW + timedelta(minutes=1), limit=3
        ):
            out += [d.id for d in rows]
        claimed.append(mine)
        sent.append(out)
        store.db.close()

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [w for batch in claimed for w in batch]
    assert len(every) == 40 and len(set(every)) == 40
    every = [d for batch in sent for d in batch]
    assert len(every) == 40 and len(set(every)) == 40


def test_two_replicas_starting_at_once_apply_each_migration_once(database_target: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def boot() -> None:
        try:
            start.wait()
            db = open_database(database_target)
            ChatStore(db)
            AlertStore(db)
            db.close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=boot) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db = open_database(database_target)
    rows = db.conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()
    names = [r[0] for r in rows]
    assert len(names) == len(set(names)) and "alerts-0004" in names and "chat-0002" in names
    db.close()
