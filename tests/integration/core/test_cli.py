"""The administration CLI: creates what the API would, with the same validation."""
from __future__ import annotations

from mobsrc.cli import COMMANDS


def _invoke(app, *args):
    runner = app.test_cli_runner()
    return runner.invoke(args=list(args))


def test_cli_creates_enterprise_station_user_and_key(committed_app):
    assert {c.name for c in COMMANDS} >= {"enterprise", "station", "user", "key"}
    made = _invoke(committed_app, "enterprise", "create", "--name", "贵阳测试物流有限公司",
                   "--uscc", "91520115MA6DKQ0X0J", "--district", "520115")
    assert made.exit_code == 0, made.output
    station = _invoke(committed_app, "station", "create", "--code", "GY-I-900", "--kind", "i", "--name", "测试检测站",
                      "--lon", "106.62", "--lat", "26.60", "--crs", "gcj02")
    assert station.exit_code == 0, station.output
    user = _invoke(committed_app, "user", "create", "--name", "I站账号", "--role", "i_station",
                   "--station-code", "GY-I-900")
    assert user.exit_code == 0 and "shown once" in user.output
    key = user.output.strip().split()[-1]
    me = committed_app.test_client().get("/api/v1/me", headers={"X-API-Key": key}).json
    assert (me["role"], me["station_code"]) == ("i_station", "GY-I-900")


def test_cli_explains_invalid_input(committed_app):
    bad = _invoke(committed_app, "enterprise", "create", "--name", "某公司", "--uscc", "91350100M0001TGQXM")
    assert bad.exit_code != 0 and "uscc: check character should be 1" in bad.output
