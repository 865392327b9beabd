"""`mobsrc zones import` loads the bundled Guiyang districts (GCJ-02) as zones."""
from __future__ import annotations

from sqlalchemy import select

from mobsrc.zones.models import ZoneVersion


def test_the_bundled_districts_import_from_the_command_line(committed_app, committed_session):
    runner = committed_app.test_cli_runner()
    result = runner.invoke(args=["zones", "import", "--name-prefix", "禁用区·", "--prohibit", "china_3",
                                 "--prohibit", "china_2"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 10 and "禁用区·云岩区 (520103)" in result.output
    versions = committed_session.scalars(select(ZoneVersion)).all()
    assert {v.source_crs for v in versions} == {"gcj02"}
    assert all(v.prohibited_stages == ["china_2", "china_3"] for v in versions)  # in stage order
    listed = runner.invoke(args=["zones", "list"])
    assert listed.exit_code == 0 and "barred: china_2, china_3" in listed.output
    bad = runner.invoke(args=["zones", "import", "--prohibit", "china_9"])
    assert bad.exit_code != 0 and "prohibited_stages" in bad.output
