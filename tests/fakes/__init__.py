"""Protocol peers for tests: fakes that speak the real wire protocol on loopback."""

from tests.fakes.slack_api import Call, FakeSlackApi, fake_slack_api

__all__ = ["Call", "FakeSlackApi", "fake_slack_api"]
