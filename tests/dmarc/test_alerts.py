"""DMARC alerts: a new sending source with real volume and a drop in the aligned share, each
posted once (the outbox key), across repeated reports and a restart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.dmarc import Dmarc
from bot.store import open_database
from bot.store.alerts import AlertStore, NewAlert
from handlers.card import Card
from handlers.dmarc.alerts import AlertRules, share_drop
from knowledge import Catalogue
from tests.dmarc.build import Row, report_xml

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _day(days_ago: int) -> int:
    return int((NOW - timedelta(days=days_ago)).replace(hour=0, minute=0).timestamp())


def _dmarc(path: str, catalogue: Catalogue) -> tuple[Dmarc, AlertStore]:
    db = open_database(path)
    dmarc = Dmarc(db, catalogue, None, clock=lambda: NOW)
    alerts = AlertStore(db)

    def enqueue(key: str, kind: str, subject: str, card: Card) -> None:
        alerts.enqueue(NewAlert(key, kind, subject, card, (("slack", "C0ALERTS"),)), at=NOW)

    dmarc.enqueue = enqueue
    return dmarc, alerts


def test_a_new_source_alerts_once_and_a_first_import_alerts_never(
    database_target: str, catalogue: Catalogue
) -> None:
    dmarc, alerts = _dmarc(database_target, catalogue)
    for ago in range(20, 2, -1):  # three weeks of the usual sender: a first import, no storm
        dmarc.ingest(
            report_xml([Row("40.107.22.51", 900)], report_id=f"d{ago}", begin=_day(ago)), source="t"
        )
    assert alerts.alerts() == []
    new = Row("167.89.100.12", 400, dkim="fail", spf="fail", dkim_domain="sendgrid.net")
    dmarc.ingest(
        report_xml([Row("40.107.22.51", 900), new], report_id="n1", begin=_day(2)), source="t"
    )
    dmarc.ingest(report_xml([new], report_id="n2", begin=_day(1)), source="t")
    again, again_alerts = _dmarc(database_target, catalogue)  # a restart
    again.ingest(report_xml([new], report_id="n3", begin=_day(0)), source="t")
    ((_kind, subject, card),) = again_alerts.alerts("dmarc_new_source")
    assert subject == "contoso.com 167.89.100.12"
    assert card.title == "New sender for contoso.com: SendGrid (Twilio)"
    assert "Complete Domain Authentication" in card.notes[0]


def test_a_small_new_source_is_not_news(database_target: str, catalogue: Catalogue) -> None:
    dmarc, alerts = _dmarc(database_target, catalogue)
    for ago in range(20, 2, -1):
        dmarc.ingest(
            report_xml([Row("40.107.22.51", 900)], report_id=f"d{ago}", begin=_day(ago)), source="t"
        )
    dmarc.ingest(
        report_xml([Row("192.0.2.77", 3, dkim="fail", spf="fail")], report_id="x", begin=_day(1)),
        source="t",
    )
    assert alerts.alerts() == []


def test_a_drop_in_the_aligned_share_alerts_once_a_week(
    database_target: str, catalogue: Catalogue
) -> None:
    dmarc, alerts = _dmarc(database_target, catalogue)
    for ago in range(30, 7, -1):
        dmarc.ingest(
            report_xml([Row("40.107.22.51", 1000)], report_id=f"ok{ago}", begin=_day(ago)),
            source="t",
        )
    for ago in range(6, 0, -1):  # DKIM broke: 30% of the usual sender's mail now fails
        rows = [Row("40.107.22.51", 700), Row("40.107.22.51", 300, dkim="fail", spf="fail")]
        dmarc.ingest(report_xml(rows, report_id=f"bad{ago}", begin=_day(ago)), source="t")
    drops = [a for a in alerts.alerts() if a[0] == "dmarc_share_drop"]
    assert len(drops) == 1
    assert "70.0% of" in drops[0][2].summary and "down from 100.0%" in drops[0][2].summary


def test_a_small_dip_or_little_mail_is_no_drop() -> None:
    rules = AlertRules()
    today = date(2026, 12, 6)
    steady = [(f"2026-11-{d:02d}", 1000, 1000) for d in range(8, 29)]
    dip = [(f"2026-12-0{d}", 1000, 970) for d in range(1, 6)]
    assert share_drop(steady + dip, today=today, rules=rules) is None  # 3 points
    few = [(f"2026-12-0{d}", 50, 0) for d in range(1, 6)]
    assert share_drop(steady + few, today=today, rules=rules) is None  # 250 messages


async def test_the_sweep_alerts_on_silence_a_failing_sender_and_the_digest_once(
    database_target: str, catalogue: Catalogue
) -> None:
    from bot.dmarc.sweep import DmarcSweeper

    dmarc, alerts = _dmarc(database_target, catalogue)
    sendgrid = {"dkim_domain": "sendgrid.net"}
    for ago in range(30, 7, -1):  # SendGrid passed (aligned DKIM) for weeks ...
        rows = [Row("167.89.100.12", 200, **sendgrid), Row("40.107.22.51", 900)]
        dmarc.ingest(report_xml(rows, report_id=f"a{ago}", begin=_day(ago)), source="t")
    for ago in range(6, 3, -1):  # ... then its key went: aligned DKIM fails
        rows = [Row("167.89.100.12", 200, dkim="fail", spf="fail", **sendgrid)]
        dmarc.ingest(report_xml(rows, report_id=f"b{ago}", begin=_day(ago)), source="t")
    sweeper = DmarcSweeper(dmarc)
    assert NOW.weekday() == 6  # a Sunday: the week's digest is due
    await sweeper.run_due()
    await sweeper.run_due()  # an hour later: nothing twice
    kinds = sorted(kind for kind, _s, _c in alerts.alerts())
    assert kinds == [
        "dmarc_digest",
        "dmarc_sender_failing",
        "dmarc_share_drop",  # from the ingest: the share fell too
        "dmarc_silent",  # the last report covered four days ago
    ]
    (failing,) = alerts.alerts("dmarc_sender_failing")
    assert failing[2].title == "SendGrid (Twilio) started failing DMARC for contoso.com"
    (digest,) = alerts.alerts("dmarc_digest")
    assert digest[2].title == "Weekly DMARC digest: contoso.com"
