"""`mobsrc gateway` (the HJ 1239 TCP gateway) and `mobsrc simulate` (terminals that speak HJ
1239 to it, for demos and load)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal

import click
from flask.cli import with_appcontext

log = logging.getLogger(__name__)


def raise_open_file_limit() -> int:
    """One descriptor per terminal connection: take the hard limit (ulimit -n) as the soft one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@click.command("gateway")
@click.option("--host", default=None, help="address to listen on [MOBSRC_OBD_GATEWAY_HOST, 127.0.0.1]")
@click.option("--port", type=int, default=None, help="TCP port [MOBSRC_OBD_GATEWAY_PORT, 9210]")
@click.option("--processes", type=int, default=1, show_default=True,
              help="gateway processes sharing the port (SO_REUSEPORT; the kernel spreads connections)")
@with_appcontext
def gateway(host, port, processes):
    """Run the HJ 1239 / GB 17691 TCP gateway for OBD terminals."""
    limit = raise_open_file_limit()
    click.echo(f"HJ 1239 gateway: {processes} process(es), {limit} file descriptors each", err=True)
    if processes <= 1:
        _run_gateway(host, port, reuse_port=False)
        return
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                _run_gateway(host, port, reuse_port=True)
            finally:
                os._exit(0)
        children.append(pid)

    def forward(signum, frame):
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        os.waitpid(child, 0)


def _run_gateway(host, port, reuse_port: bool) -> None:
    from mobsrc.core.collector import tune_for_batches
    from mobsrc.extensions import state
    from mobsrc.obd.gateway import Gateway
    from mobsrc.obd.settings import ObdSettings
    app = state()
    app.db.engine.dispose(close=False)        # a forked process opens its own connections
    server = Gateway(app.db, app.redis, ObdSettings.from_extra(app.settings.extra))
    tune_for_batches()
    asyncio.run(_serve(server, host, port, reuse_port))


async def _serve(server, host, port, reuse_port: bool) -> None:
    loop = asyncio.get_running_loop()
    task = loop.create_task(server.serve_forever(host, port, reuse_port=reuse_port))
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        log.info("gateway stopped")


@click.command("simulate")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=9210, show_default=True)
@click.option("--vin", "vins", multiple=True, help="a registered VIN (repeat for more terminals)")
@click.option("--registered", type=int, default=0, help="also use the first N registered vehicles")
@click.option("--duration", type=int, default=300, show_default=True, help="seconds of driving per truck")
@click.option("--scenario", type=click.Choice(["healthy", "failed-scr", "tampered-nox-sensor", "mil-on",
                                               "empty-reagent", "removed-terminal"]),
              default="healthy", show_default=True, help="what the trucks do (obd/terminal.py SCENARIOS)")
@click.option("--samples-per-frame", type=int, default=10, show_default=True,
              help="1 Hz samples per real-time frame (10 is what terminals do)")
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="times real time; 0 sends every frame at once (the trip then ends now)")
@click.option("--seed", type=int, default=0)
@with_appcontext
def simulate(host, port, vins, registered, duration, scenario, samples_per_frame, speed, seed):
    """Drive simulated China VI trucks against the gateway: each logs in, sends its trip and
    waits for the gateway's answers; prints what was sent and acknowledged."""
    from mobsrc.obd.terminal import simulate_fleet
    vins = list(vins) + _registered_vins(registered)
    if not vins:
        raise click.UsageError("give --vin VIN (repeatable) or --registered N")
    raise_open_file_limit()
    results = asyncio.run(simulate_fleet(host, port, vins, duration_s=duration, scenario=scenario,
                                         samples_per_frame=samples_per_frame, speed=speed or None, seed=seed))
    for result in results:
        click.echo(f"{result.vin}: {result.frames_sent} frames, {result.records_sent} records sent, "
                   f"{result.reports_acknowledged} reports acknowledged"
                   f"{', ' + result.error if result.error else ''}")
    sent = sum(r.records_sent for r in results)
    failed = [r for r in results if r.error]
    click.echo(f"{len(results)} terminals, {sent} records sent, {len(failed)} with errors")
    if failed:
        raise SystemExit(1)


def _registered_vins(count: int) -> list[str]:
    if count <= 0:
        return []
    from sqlalchemy import text

    from mobsrc.extensions import state
    with state().db.session_scope() as session:
        return list(session.scalars(text("SELECT vin FROM vehicles ORDER BY id LIMIT :n"), {"n": count}))


COMMANDS = (gateway, simulate)
