"""The command line: init-db, create-user, set-password, import-csv and refresh."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.db import make_engine
from services.models import Customer, DataVersion, User
from services.users import authenticate
from tests.conftest import make_app


@pytest.fixture
def cli(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    runner.output_of_init = result.output
    runner.engine = make_engine(app.extensions["settings"].database_url)
    return runner


def test_init_db_creates_an_admin_with_a_generated_password_shown_once(cli):
    password = cli.output_of_init.split("generated password ")[1].split()[0]
    from sqlalchemy.orm import Session

    with Session(cli.engine) as session:
        assert authenticate(session, "admin", password).role == "admin"
    again = cli.invoke(args=["init-db"])
    assert "generated password" not in again.output


def test_init_db_uses_admin_password_from_settings(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'env.db'}", tmp_path, admin_username="boss",
                   admin_password="from the environment")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert "from the environment" not in result.output
    from sqlalchemy.orm import Session

    with Session(make_engine(app.extensions["settings"].database_url)) as session:
        assert authenticate(session, "boss", "from the environment") is not None


def test_create_user_reads_the_password_from_stdin(cli):
    result = cli.invoke(args=["create-user", "ana", "--role", "analyst", "--country", "Australia",
                              "--password-stdin"], input="a good passphrase\n")
    assert result.exit_code == 0, result.output
    with cli.engine.connect() as connection:
        role, scope = connection.execute(select(User.role, User.country_scope).where(User.username == "ana")).one()
    assert (role, scope) == ("analyst", ["Australia"])


def test_create_user_prompts_twice_and_rejects_short_passwords(cli):
    result = cli.invoke(args=["create-user", "bob"], input="short\nshort\n")
    assert result.exit_code != 0 and "8 to 128 characters" in result.output
    result = cli.invoke(args=["create-user", "bob"], input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output


def test_create_user_refuses_a_password_argument(cli):
    result = cli.invoke(args=["create-user", "eve", "--password", "in argv is unsafe"])
    assert result.exit_code != 0


def test_import_csv_reports_errors_and_exits_nonzero(cli, tmp_path):
    bad = tmp_path / "orders.csv"
    bad.write_text("customer_id,ordered_at,amount\nC1,2023-01-02,10.5\nC2,not a date,3\n", encoding="utf-8")
    result = cli.invoke(args=["import-csv", "transactions", str(bad)])
    assert result.exit_code == 1
    assert "row 3" in result.output and "ordered_at" in result.output
    with cli.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Customer)) == 0


def test_import_csv_then_refresh(cli, tmp_path):
    good = tmp_path / "orders.csv"
    good.write_text("customer_id,ordered_at,amount\nC1,2023-01-02,10.5\nC2,2023-02-03,3\n", encoding="utf-8")
    result = cli.invoke(args=["import-csv", "transactions", str(good)])
    assert result.exit_code == 0, result.output
    assert "Imported 2 transactions rows (2 new customers)" in result.output
    assert cli.invoke(args=["refresh"]).exit_code == 0
    with cli.engine.connect() as connection:
        assert connection.scalar(select(func.max(DataVersion.id))) == 2  # import + explicit refresh


def test_unknown_import_kind_is_a_clear_error(cli, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    result = cli.invoke(args=["import-csv", "products", str(path)])
    assert result.exit_code != 0 and "Unknown kind 'products'" in result.output
