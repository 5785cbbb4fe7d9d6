"""Command line: `flask --app wsgi COMMAND`. Passwords are read from a prompt or stdin, never argv."""
from __future__ import annotations

import sys
import time

import click
from werkzeug.serving import run_simple
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from dashapp.database import get_engine
from dashapp.settings import Settings
from services import users
from services.analytics.snapshot import ensure_snapshot
from services.db import session_scope, upgrade_schema
from services.models import ROLES, Customer
from services.refresh import refresh


def _settings() -> Settings:
    return current_app.extensions["settings"]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def ensure_admin() -> None:
    """First run: an admin from ADMIN_USERNAME/ADMIN_PASSWORD, or a generated password in development."""
    settings = _settings()
    with session_scope(get_engine()) as session:
        if users.has_users(session):
            return
        if not settings.admin_password and settings.is_production:
            click.echo("No users yet: set ADMIN_PASSWORD, or run `flask --app wsgi create-user NAME --role admin`.")
            return
        password = settings.admin_password or users.generate_password()
        users.create_user(session, settings.admin_username, password, "admin")
    if settings.admin_password:
        click.echo(f"Created admin {settings.admin_username!r} with the password from ADMIN_PASSWORD.")
    else:
        click.secho(f"Created admin {settings.admin_username!r} with the generated password {password}"
                    " (shown once; change it with `flask --app wsgi set-password`).", fg="yellow", bold=True)


def _refresh_and_report() -> None:
    started = time.perf_counter()
    version = refresh(get_engine())
    click.echo(f"Derived data refreshed in {time.perf_counter() - started:.1f} s (data version {version}).")
    _build_snapshot()


def _build_snapshot() -> None:
    """Build the analytics snapshot now, so that no user waits for it."""
    started = time.perf_counter()
    path = ensure_snapshot(get_engine(), _settings().analytics_dir)
    click.echo(f"Analytics snapshot {path.name} ready in {time.perf_counter() - started:.1f} s.")


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema, then create the first admin if there is no user."""
    upgrade_schema(_settings().database_url)
    click.echo("Database schema is up to date.")
    ensure_admin()


@click.command("demo-data")
@click.option("--customers", default=20_000, show_default=True, type=click.IntRange(1, 5_000_000))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--batch-size", default=50_000, show_default=True, type=click.IntRange(1_000, 1_000_000))
@with_appcontext
def demo_data_command(customers: int, seed: int, batch_size: int) -> None:
    """Generate realistic demo data into an empty database and refresh the derived data."""
    from services.demo import DemoConfig, generate_demo_data

    upgrade_schema(_settings().database_url)
    started = time.perf_counter()
    try:
        generate_demo_data(get_engine(), DemoConfig(customers=customers, seed=seed, batch_size=batch_size),
                           progress=click.echo)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Generated {customers:,} customers in {time.perf_counter() - started:.1f} s.")
    _refresh_and_report()


@click.command("import-csv")
@click.argument("kind")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_csv_command(kind: str, file: str) -> None:
    """Import a CSV file of KIND (customers, transactions, coupon_events, campaign_assignments, survey_responses)."""
    from services.importer import import_csv

    try:
        result = import_csv(get_engine(), kind, file, filename=file, username="cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if result.ok:
        click.echo(f"Imported {result.rows:,} {kind} rows ({result.created_customers:,} new customers).")
        _build_snapshot()
        return
    click.echo(f"Nothing was imported: {len(result.errors)} problem(s) found.", err=True)
    for error in result.errors[:50]:
        click.echo(f"  row {error.row}, column {error.column!r}, value {error.value!r}: {error.reason}", err=True)
    sys.exit(1)


@click.command("refresh")
@with_appcontext
def refresh_command() -> None:
    """Rebuild the derived data (customer summary) and bump the data version."""
    _refresh_and_report()


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--country", "countries", multiple=True, help="Limit the user to these countries (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@with_appcontext
def create_user_command(username: str, role: str, countries: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user; the password is prompted for (or read from stdin)."""
    password = _read_password(password_stdin)
    try:
        with session_scope(get_engine()) as session:
            users.create_user(session, username, password, role, list(countries) or None)
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {role} {username!r}.")


@click.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@with_appcontext
def set_password_command(username: str, password_stdin: bool) -> None:
    """Set a user's password and end their existing sessions."""
    password = _read_password(password_stdin)
    try:
        with session_scope(get_engine()) as session:
            users.set_password(session, username, password)
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Password of {username!r} changed; their other sessions are signed out.")


@click.command("quickstart")
@click.option("--customers", default=20_000, show_default=True, type=click.IntRange(1, 5_000_000))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
@click.pass_context
@with_appcontext
def quickstart_command(ctx: click.Context, customers: int, host: str, port: int) -> None:
    """Create the database, load demo data on first run, and serve the app."""
    ctx.invoke(init_db_command)
    with session_scope(get_engine()) as session:
        empty = not session.scalar(select(func.count()).select_from(Customer))
    if empty:
        ctx.invoke(demo_data_command, customers=customers, seed=42, batch_size=50_000)
    click.secho(f"\nCustomerScope is running: open http://{host}:{port}/ and sign in as "
                f"{_settings().admin_username!r} (password printed above on first run, or from ADMIN_PASSWORD).\n",
                fg="green", bold=True)
    run_simple(host, port, current_app._get_current_object(), threaded=True)


def init_app(app: Flask) -> None:
    for command in (init_db_command, demo_data_command, import_csv_command, refresh_command,
                    create_user_command, set_password_command, quickstart_command):
        app.cli.add_command(command)
