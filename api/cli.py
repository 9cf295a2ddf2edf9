"""The ``arbitration`` command: serve, db upgrade, accounts, demo, audit, penalties, lifecycle."""

from __future__ import annotations

import functools
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import waitress

from api import demo as demo_data
from api import server
from api.app import create_app
from api.config import Config
from api.wiring import (
    Services,
    build,
    check_database_writable,
    purge_personal_data,
    scheduled_jobs,
    upgrade_schema,
)
from arbitration import accounts, lifecycle
from arbitration.audit import verify_chains
from arbitration.db import database_url_from_env
from arbitration.errors import DomainError
from arbitration.policy import load_policy
from arbitration.policy_file import PolicyError, parse_duration
from arbitration.scheduler import build_scheduler
from penalties import chain as seller_chain
from penalties import simulate
from reports import render as report_render
from reports.summary import GROUPINGS, summarize
from webhooks import checkpoints
from webhooks import service as webhook_service
from webhooks.delivery import deliver_until_idle
from webhooks.models import DELIVERY_STATUSES

# The what-if shows a progress bar (on stderr) past this many sellers.
SIMULATE_PROGRESS_FROM = 200


def _config() -> Config:
    try:
        return Config.from_env()
    except PolicyError as error:
        raise click.ClickException(f"bad policy: {error}") from error


def _services() -> Services:
    return build(_config())


class _Commands(click.Group):
    """Refusals from the core read as one-line errors, not tracebacks."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DomainError as error:
            details = "; ".join(
                f"{field}: {', '.join(map(str, problems))}"
                for field, problems in (error.details or {}).items()
                if isinstance(problems, list)
            )
            message = error.message + (f" ({details})" if details else "")
            raise click.ClickException(message) from error


@click.group(cls=_Commands)
def main() -> None:
    """Dispute arbitration engine for marketplaces."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="serve with gunicorn in this many processes; deadlines are then swept by `arbitration "
    "worker` processes only  [default: one waitress process]",
)
@click.option(
    "--scheduler/--no-scheduler",
    default=None,
    help="sweep due deadlines in this process (turn off when `arbitration worker` runs)  "
    "[default: on, off with --workers]",
)
def serve(host: str, port: int, workers: int | None, scheduler: bool | None) -> None:
    """Serve the HTTP API (and, in one process, fire deadlines)."""
    check_database_writable(database_url_from_env())  # a read-only SQLite file: refused now
    if workers is not None and scheduler:
        raise click.UsageError(
            "--workers never sweeps deadlines in the web processes; run `arbitration worker`"
        )
    config = _config()
    url = f"http://{host}:{port}"
    if workers is not None:
        click.echo(
            f"Arbitration engine listening on {url}  (API docs: {url}/v1/docs, staff console: {url}/console)"
        )
        click.echo(f"Database: {config.database_url}")
        click.echo(
            f"{workers} gunicorn worker processes ({server.WORKER_CLASS}, "
            f"{server.THREADS_PER_WORKER} threads each); deadlines are swept by "
            "`arbitration worker` processes."
        )
        if config.database_url.startswith("sqlite"):
            click.echo(
                "Note: SQLite takes one writer at a time; PostgreSQL is the database for many "
                "processes."
            )
        sys.stdout.flush()
        server.serve_with_workers(config, host=host, port=port, workers=workers)
        return
    app = create_app(config)
    services: Services = app.extensions["arbitration"]
    sweeping = scheduler is not False
    if sweeping:
        build_scheduler(
            services.database,
            policy=config.policy,
            clock=services.clock,
            interval_seconds=config.scheduler_interval,
            extra_jobs=scheduled_jobs(services),
        ).start()
    click.echo(
        f"Arbitration engine listening on {url}  (API docs: {url}/v1/docs, staff console: {url}/console)"
    )
    click.echo(f"Database: {config.database_url}")
    if sweeping:
        click.echo(f"Deadlines are swept every {config.scheduler_interval:g}s in this process.")
    sys.stdout.flush()
    server.tune_interpreter()
    waitress.serve(app, host=host, port=port, threads=8, ident="arbitration")


@main.command()
def worker() -> None:
    """Fire due deadlines, without serving HTTP (for multi-process deployments)."""
    check_database_writable(database_url_from_env())  # a read-only SQLite file: refused now
    services = _services()
    config = services.config
    click.echo(f"Sweeping deadlines every {config.scheduler_interval:g}s: {config.database_url}")
    sys.stdout.flush()
    build_scheduler(
        services.database,
        policy=services.policy,
        clock=services.clock,
        interval_seconds=config.scheduler_interval,
        blocking=True,
        extra_jobs=scheduled_jobs(services),
    ).start()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or update the schema to the newest revision."""
    check_database_writable(database_url_from_env())  # a read-only SQLite file: refused now
    url = database_url_from_env()
    upgrade_schema(url)
    click.echo(f"Schema up to date: {url}")


@main.group("accounts")
def accounts_group() -> None:
    """Accounts and tokens."""


@accounts_group.command("create")
@click.option("--role", required=True, type=click.Choice(accounts.ROLES))
@click.option("--name", "display_name", required=True)
@click.option("--id", "account_id", default=None, help="defaults to a generated id")
@click.option("--json", "as_json", is_flag=True, help='print exactly {"id": ..., "token": ...}')
def accounts_create(role: str, display_name: str, account_id: str | None, as_json: bool) -> None:
    """Create an account and print its first token (shown once)."""
    services = _services()
    with services.database.unit_of_work() as session:
        account, token = accounts.create_account(
            session,
            role=role,
            display_name=display_name,
            account_id=account_id,
            at=services.clock.now(),
        )
    if as_json:
        click.echo(json.dumps({"id": account.id, "token": token}))
    else:
        click.echo(f"account: {account.id} ({role})\ntoken:   {token}")


@main.command()
@click.option("--if-empty", is_flag=True, help="only fill a database that has no accounts yet")
@click.option(
    "--address",
    default="localhost:8000",
    show_default=True,
    help="where the engine will listen, for the example it prints",
)
def demo(if_empty: bool, address: str) -> None:
    """Fill the database with a believable marketplace and print tokens to try it with."""
    services = _services()
    tokens = demo_data.load_or_create(
        services.database, policy=services.policy, only_if_empty=if_empty
    )
    click.echo(demo_data.describe(tokens, address=address))


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@click.option(
    "--against",
    "against",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="a checkpoint kept earlier (JSON from GET /v1/audit/checkpoints or the audit.checkpoint "
    "webhook): also prove every chain it names was only appended to since",
)
@click.option(
    "--public-key",
    "public_key",
    default=None,
    help="hex Ed25519 key that signed it (GET /v1/audit/public-key)  "
    "[default: the key of ARBITRATION_AUDIT_SIGNING_KEY]",
)
def audit_verify(against: str | None, public_key: str | None) -> None:
    """Recompute every dispute's and every seller's hash chain and name the first broken link."""
    document = _kept_checkpoint(against, public_key) if against else None
    with _services().database.unit_of_work(read_only=True) as session:
        report = verify_chains(session)
        sellers, seller_events, seller_broken = seller_chain.verify(session)
        rewritten = checkpoints.verify_against(session, document) if document else []
    if report.ok and not seller_broken and not rewritten:
        click.echo(
            f"OK: {report.events} events in {report.disputes} disputes verify; "
            f"{seller_events} events in {sellers} sellers' chains verify."
        )
        if document:
            click.echo(
                f"OK: every chain of checkpoint {document['seq']} ({document['taken_at']}) was "
                f"only appended to: {len(document['disputes'])} disputes, "
                f"{len(document['sellers'])} sellers."
            )
        return
    for link in [*report.broken, *seller_broken]:
        click.echo(f"BROKEN: {link}", err=True)
    for change in rewritten:
        click.echo(f"REWRITTEN: {change}", err=True)
    sys.exit(1)


def _kept_checkpoint(path: str, public_key: str | None) -> dict[str, Any]:
    if public_key is None:
        configured = _config().audit_signing_key
        if not configured:
            raise click.UsageError(
                f"give --public-key (GET /v1/audit/public-key) or set {checkpoints.KEY_ENV_VAR}"
            )
        public_key = checkpoints.public_key_hex(checkpoints.load_signing_key(configured))
    try:
        kept = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(kept, dict) and isinstance(kept.get("data"), list):  # an API page
            kept = kept["data"][0]
        elif isinstance(kept, dict) and isinstance(kept.get("data"), dict):  # a webhook
            kept = kept["data"]
        return checkpoints.read_checkpoint(kept, public_hex=public_key)
    except (ValueError, IndexError, checkpoints.BadCheckpoint) as error:
        raise click.ClickException(f"{path}: {error}") from None


@audit.command("keygen")
def audit_keygen() -> None:
    """Print a new Ed25519 signing key for ARBITRATION_AUDIT_SIGNING_KEY (keep it secret)."""
    click.echo(checkpoints.new_signing_key())


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign every chain head now (the scheduler does this every checkpoint_interval)."""
    services = _services()
    if not services.config.audit_signing_key:
        raise click.ClickException(
            f"set {checkpoints.KEY_ENV_VAR} (see `arbitration audit keygen`)"
        )
    key = checkpoints.load_signing_key(services.config.audit_signing_key)
    with services.database.unit_of_work() as session:
        taken = checkpoints.take(session, key=key, at=services.clock.now())
        click.echo(json.dumps(checkpoints.exported(taken)))


@main.group("webhooks")
def webhooks_group() -> None:
    """Webhook deliveries."""


@webhooks_group.command("deliveries")
@click.option("--status", type=click.Choice(DELIVERY_STATUSES), default=None)
@click.option("--endpoint", "endpoint_id", default=None)
@click.option("--dispute", "dispute_id", default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
def webhooks_deliveries(
    status: str | None, endpoint_id: str | None, dispute_id: str | None, limit: int
) -> None:
    """List deliveries, newest first."""
    with _services().database.unit_of_work(read_only=True) as session:
        found = webhook_service.list_deliveries(
            session,
            caller=None,
            status=status,
            endpoint_id=endpoint_id,
            dispute_id=dispute_id,
            limit=limit,
        )
        rows = [
            (
                view.delivery.id,
                view.delivery.endpoint_id,
                view.event.type,
                view.event.dispute_id or "",
                view.delivery.status,
                str(view.delivery.attempts),
                str(view.delivery.last_status_code or view.delivery.last_error or ""),
            )
            for view in found
        ]
    headers = ("delivery", "endpoint", "event", "dispute", "status", "attempts", "last answer")
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@webhooks_group.command("redeliver")
@click.argument("delivery_id")
def webhooks_redeliver(delivery_id: str) -> None:
    """Send a delivery again at the next delivery run (a fresh retry window)."""
    services = _services()
    with services.database.unit_of_work() as session:
        view = webhook_service.redeliver(
            session,
            caller=None,
            delivery_id=delivery_id,
            policy=services.policy.webhooks,
            at=services.clock.now(),
        )
        click.echo(f"{view.delivery.id}: pending again ({view.event.type} {view.event.id})")


@webhooks_group.command("deliver")
def webhooks_deliver() -> None:
    """Attempt every due delivery once, now (the scheduler does this every interval)."""
    services = _services()
    report = deliver_until_idle(
        services.database, policy=services.policy.webhooks, clock=services.clock
    )
    click.echo(f"{report.delivered} delivered, {report.retrying} to retry, {report.dead} dead")


@main.group("privacy")
def privacy_group() -> None:
    """Personal data."""


@privacy_group.command("purge")
@click.option(
    "--older-than",
    "older_than",
    default=None,
    help='closed longer ago than this, e.g. "730d"  [default: the policy\'s webhooks.retention]',
)
@click.option("--dry-run", is_flag=True, help="list what would be purged, change nothing")
def privacy_purge(older_than: str | None, dry_run: bool) -> None:
    """Remove personal data from closed disputes past retention; `audit verify` still passes."""
    services = _services()
    try:
        window = parse_duration(older_than) if older_than else services.policy.webhooks.retention
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--older-than") from None
    report = purge_personal_data(services, older_than=window, dry_run=dry_run)
    verb = "would purge" if dry_run else "purged"
    click.echo(
        f"{verb} {len(report.disputes)} disputes closed more than {older_than or 'the retention'} "
        "ago; "
        f"{report.events_redacted} chain events redacted (their hashes kept)"
        + (f", {report.events_kept} older events kept as hashed" if report.events_kept else "")
        + (
            ""
            if dry_run
            else f"; {report.evidence_items} evidence items removed "
            f"({report.blobs_deleted} files deleted)"
        )
    )


@main.group()
def penalties() -> None:
    """Seller penalties."""


@penalties.command("simulate")
@click.option(
    "--rules",
    "rules_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="a policy file (overrides over the shipped defaults, like ARBITRATION_POLICY)",
)
@click.option(
    "--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def penalties_simulate(rules_file: str, output: str) -> None:
    """Replay the recorded violations under other rules and print whose penalties would differ.

    Read-only: nothing is written. Only sellers with a difference are listed.
    """
    try:
        other = load_policy(rules_file).penalties
    except PolicyError as error:
        raise click.ClickException(f"bad rules file: {error}") from error
    services = _services()
    with services.database.unit_of_work(read_only=True) as session:
        sellers = simulate.count_sellers(session)
        replay = functools.partial(
            simulate.simulate,
            session,
            current=services.policy.penalties,
            other=other,
            other_source=rules_file,
        )
        if sellers > SIMULATE_PROGRESS_FROM:
            with click.progressbar(
                length=sellers, label="Replaying sellers", file=sys.stderr
            ) as bar:
                report = replay(on_seller=lambda: bar.update(1))
        else:
            report = replay()
    click.echo(simulate.to_json(report) if output == "json" else simulate.format_table(report))


@main.command("lifecycle")
def lifecycle_diagram() -> None:
    """Print the lifecycle as a Mermaid diagram, generated from the table."""
    click.echo(lifecycle.mermaid_diagram(), nl=False)


_DAY_OR_TIME = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


@main.command("report")
@click.option("--by", type=click.Choice(GROUPINGS), default=None, help="group the figures")
@click.option(
    "--since",
    type=click.DateTime(_DAY_OR_TIME),
    default=None,
    help="filed at or after (UTC; default: reports.default_period before --until)",
)
@click.option(
    "--until", type=click.DateTime(_DAY_OR_TIME), default=None, help="filed before (UTC; now)"
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
def report(by: str | None, since: datetime | None, until: datetime | None, output: str) -> None:
    """Every KPI of the disputes filed in a period (the numbers of GET /v1/reports/summary)."""
    services = _services()
    with services.database.unit_of_work(read_only=True) as session:
        summary = summarize(
            session,
            policy=services.policy,
            at=services.clock.now(),
            by=by,
            since=_utc(since),
            until=_utc(until),
        )
    renderers = {
        "table": report_render.as_table,
        "csv": report_render.as_csv,
        "json": report_render.as_json,
    }
    click.echo(renderers[output](summary), nl=output != "csv")
