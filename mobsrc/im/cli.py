"""`mobsrc im ...`: run the I/M periodic work by hand (what the cron does), e.g. after an outage."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("im")
def im():
    """I/M closed loop: deadlines, owner webhooks, station supervision."""


@im.command("sweep")
@with_appcontext
def sweep():
    """Mark cases past their deadline overdue and escalate them to violations."""
    from mobsrc.extensions import state
    from mobsrc.im.service import sweeps
    click.echo(f"{sweeps.run_sweep(state().db, state().redis)} transition(s) made")


@im.command("deliver-webhooks")
@with_appcontext
def deliver_webhooks():
    """Send the owners' due webhook deliveries."""
    from mobsrc.extensions import state
    from mobsrc.im.service import outbox
    sent = outbox.deliver_all(state().db, allow_private=outbox.allows_private_addresses(state().settings))
    click.echo(f"{sent} delivery attempt(s)")


@im.command("detect-fraud")
@with_appcontext
def detect_fraud():
    """Run the station supervision detectors over the configured window."""
    from mobsrc.extensions import state
    from mobsrc.im.service import supervision
    run = supervision.run_detection(state().db)
    click.echo(f"{run.inspections} inspection(s) analysed, {run.signs} sign(s): {run.opened} flag(s) opened, "
               f"{run.refreshed} refreshed")
