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
    # the hourly look-up named the IP already (from an earlier sighting in another domain's mail)
    dmarc.store.save_names({"167.89.100.12": "o1.ptr2391.sendgrid.net"}, at=NOW)
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
    facts = {f.label: f.value for f in card.facts}
    assert facts["Reverse DNS"] == "o1.ptr2391.sendgrid.net (run from sendgrid.net)"


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


async def test_legitimate_mail_failing_more_after_a_policy_change_alerts_once(
    database_target: str, catalogue: Catalogue
) -> None:
    from bot.dmarc.sweep import DmarcSweeper

    dmarc, alerts = _dmarc(database_target, catalogue)
    sendgrid = {"dkim_domain": "sendgrid.net"}
    for ago in range(30, 5, -1):  # p=none for weeks, everything legitimate aligned ...
        rows = [Row("167.89.100.12", 300, **sendgrid), Row("40.107.22.51", 900)]
        dmarc.ingest(report_xml(rows, report_id=f"a{ago}", begin=_day(ago)), source="t")
    for ago in range(5, 0, -1):  # ... then p=quarantine; t=y, and SendGrid's DKIM went too
        rows = [
            Row("167.89.100.12", 300, dkim="fail", spf="fail", **sendgrid),
            Row("40.107.22.51", 900),
        ]
        report = report_xml(rows, report_id=f"b{ago}", begin=_day(ago), p="quarantine", testing="y")
        dmarc.ingest(report, source="t")
    sweeper = DmarcSweeper(dmarc)
    await sweeper.run_due()
    await sweeper.run_due()  # an hour later: once per change
    (after,) = alerts.alerts("dmarc_after_change")
    card = after[2]
    assert card.title == (
        "More legitimate mail fails DMARC since contoso.com moved to p=quarantine; t=y"
    )
    assert "(it was p=none)" in card.summary and "25.0% of 6,000 messages" in card.summary
    assert [f.label for f in card.facts] == ["SendGrid (Twilio)"]


async def test_a_policy_change_that_breaks_nothing_is_no_alert(
    database_target: str, catalogue: Catalogue
) -> None:
    from bot.dmarc.sweep import DmarcSweeper

    dmarc, alerts = _dmarc(database_target, catalogue)
    for ago in range(30, 0, -1):
        p = "quarantine" if ago <= 5 else "none"
        rows = [Row("40.107.22.51", 900), Row("203.0.113.9", 40, dkim="fail", spf="fail")]
        dmarc.ingest(report_xml(rows, report_id=f"a{ago}", begin=_day(ago), p=p), source="t")
    await DmarcSweeper(dmarc).run_due()
    assert alerts.alerts("dmarc_after_change") == []  # the spoofer failing is not news


def test_the_policy_change_is_the_last_day_most_reports_show_a_new_policy() -> None:
    from handlers.dmarc.alerts import policy_change, policy_label

    assert policy_label({"p": "quarantine", "testing": "y", "pct": "100"}) == "p=quarantine; t=y"
    assert policy_label({"p": "reject", "pct": "50"}) == "p=reject; pct=50"
    none, testing = {"p": "none"}, {"p": "quarantine", "testing": "y"}
    old_format = {"p": "quarantine"}  # an RFC 7489 report: no testing field at all
    days = [
        ("2026-11-01", none),
        ("2026-11-02", none),
        ("2026-11-03", testing),
        ("2026-11-03", none),  # one receiver still had the old record cached
        ("2026-11-03", testing),
        ("2026-11-04", testing),
        ("2026-11-04", old_format),  # silence about testing is not t=n
        ("2026-11-05", old_format),
    ]
    change = policy_change(days)
    assert change is not None
    assert (change.day, change.before, change.after) == (
        "2026-11-03",
        "p=none",
        "p=quarantine; t=y",
    )
    assert policy_change(days[:2]) is None


async def test_a_change_announced_is_not_announced_again_when_late_reports_move_its_day(
    database_target: str, catalogue: Catalogue
) -> None:
    from bot.dmarc.sweep import DmarcSweeper

    dmarc, alerts = _dmarc(database_target, catalogue)
    sendgrid = {"dkim_domain": "sendgrid.net"}
    for ago in range(30, 4, -1):
        rows = [Row("167.89.100.12", 300, **sendgrid), Row("40.107.22.51", 900)]
        dmarc.ingest(report_xml(rows, report_id=f"a{ago}", begin=_day(ago)), source="t")
    broken = [
        Row("167.89.100.12", 300, dkim="fail", spf="fail", **sendgrid),
        Row("40.107.22.51", 900),
    ]
    for ago in range(4, 0, -1):
        report = report_xml(broken, report_id=f"b{ago}", begin=_day(ago), p="quarantine")
        dmarc.ingest(report, source="t")
    sweeper = DmarcSweeper(dmarc)
    await sweeper.run_due()
    # A late receiver's reports show the new record a day earlier than the first ones did.
    for n in range(3):
        report = report_xml(
            broken, org="late.example", report_id=f"c{n}", begin=_day(5), p="quarantine"
        )
        dmarc.ingest(report, source="t")
    await sweeper.run_due()
    assert len(alerts.alerts("dmarc_after_change")) == 1
