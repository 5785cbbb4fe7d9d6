"""CSV import: every kind, header matching, encodings, all-or-nothing validation, job records."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.csv_source import RowError
from services.import_writers import BUSINESS_TABLES
from services.importer import KINDS, ImportResult, describe_kinds, import_csv
from services.models import (
    Branch,
    Campaign,
    CampaignAssignment,
    Coupon,
    CouponEvent,
    Customer,
    DataVersion,
    ImportJob,
    SurveyResponse,
    Transaction,
)


def no_refresh(_engine) -> None:
    return None


def run(engine, kind: str, source, **options) -> ImportResult:
    options.setdefault("refresh", no_refresh)
    return import_csv(engine, kind, source, **options)


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def table_counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {t.name: connection.scalar(select(func.count()).select_from(t)) for t in BUSINESS_TABLES}


def rows_of(engine, query) -> list:
    with engine.connect() as connection:
        return connection.execute(query).all()


def customer_ids(engine) -> dict[str, int]:
    return dict(rows_of(engine, select(Customer.external_id, Customer.id)))


def as_datetime(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def transactions_file(path: Path, rows: int, *, start: int = 0, bad_row: int | None = None,
                      bad_column: str = "order_date", bad_value: str = "2024-13-45") -> Path:
    """`rows` orders; the order on spreadsheet row `bad_row` carries `bad_value` in `bad_column`."""
    header = ["order_id", "customer_id", "order_date", "revenue"]
    data = []
    for i in range(start, start + rows):
        row = [f"O{i}", f"C{i % 37}", f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} 10:{i % 60:02d}:00", f"{10 + i % 90}.{i % 100:02d}"]
        if bad_row is not None and i - start + 2 == bad_row:
            row[header.index(bad_column)] = bad_value
        data.append(row)
    return write_csv(path, header, data)


# ------------------------------------------------------------------ happy paths per kind
GENDER_IN_FILE = {"F": "Female", "male": "Male", "Other": "Other", "": "Unknown", "w": "Female", "UNKNOWN": "Unknown"}


def test_customers_are_imported_as_written(engine, tmp_path):
    header = ["customer_id", "name", "gender", "birth_date", "age", "country", "city", "income", "children",
              "marital_status", "signup_date"]
    genders = list(GENDER_IN_FILE)
    rows = [
        [f"C{i}", f"Customer {i}", genders[i % len(genders)], f"19{50 + i}-0{1 + i % 9}-1{i % 10}",
         "" if i % 3 else str(30 + i), ["Germany", "Spain", ""][i % 3], f"City {i}", f"{20000 + i * 1234.567:.3f}",
         str(i % 4), ["Married", "Single", ""][i % 3], f"2020-02-{1 + i:02d}"]
        for i in range(20)
    ]
    path = write_csv(tmp_path / "customers.csv", header, rows)

    result = run(engine, "customers", path)

    assert result.ok, result.errors
    assert (result.rows, result.created_customers, result.inserted) == (20, 20, 20)
    stored = {c.external_id: c for c in rows_of(engine, select(Customer.__table__))}
    for line in read_csv(path):
        customer = stored[line["customer_id"]]
        assert customer.name == line["name"]
        assert customer.gender == GENDER_IN_FILE[line["gender"]]
        assert customer.birth_date == dt.date.fromisoformat(line["birth_date"])
        assert customer.age == (int(line["age"]) if line["age"] else None)
        assert customer.country == (line["country"] or None)
        assert customer.city == line["city"]
        assert customer.income == pytest.approx(round(float(line["income"]), 2))
        assert customer.children == int(line["children"])
        assert customer.marital_status == (line["marital_status"] or None)
        assert customer.signup_date == dt.date.fromisoformat(line["signup_date"])


def test_transactions_are_imported_with_their_references(engine, tmp_path):
    header = ["order_id", "customer_id", "ordered_at", "amount", "discount", "cost", "quantity", "category",
              "channel", "branch", "branch_city", "branch_country", "campaign", "coupon_code"]
    rows = [
        [f"O{i}", f"C{i % 4}", f"2024-03-{1 + i:02d} 1{i % 10}:15:00", f"{i * 3.5:.2f}", f"{i % 3}", f"{i:.2f}",
         str(1 + i % 5), ["Wine", "Meat"][i % 2], ["Web", "Store", ""][i % 3], ["Main", "North"][i % 2],
         ["Berlin", "Hamburg"][i % 2], "Germany", "Spring" if i % 4 == 0 else "", "SPRING10" if i % 4 == 0 else ""]
        for i in range(12)
    ]
    path = write_csv(tmp_path / "orders.csv", header, rows)

    result = run(engine, "transactions", path)

    assert result.ok, result.errors
    assert (result.rows, result.inserted, result.created_customers) == (12, 12, 4)
    ids = customer_ids(engine)
    branches = {b.id: b for b in rows_of(engine, select(Branch.__table__))}
    campaigns = {c.id: c for c in rows_of(engine, select(Campaign.__table__))}
    coupons = {c.id: c for c in rows_of(engine, select(Coupon.__table__))}
    stored = {t.external_id: t for t in rows_of(engine, select(Transaction.__table__))}
    lines = read_csv(path)
    for line in lines:
        order = stored[line["order_id"]]
        assert order.customer_id == ids[line["customer_id"]]
        assert order.ordered_at == as_datetime(line["ordered_at"])
        assert order.amount == pytest.approx(float(line["amount"]))
        assert order.discount == pytest.approx(float(line["discount"]))
        assert order.cost == pytest.approx(float(line["cost"]))
        assert order.quantity == int(line["quantity"])
        assert order.category == line["category"]
        assert order.channel == (line["channel"] or None)
        branch = branches[order.branch_id]
        assert (branch.name, branch.city, branch.country) == (line["branch"], line["branch_city"], line["branch_country"])
        if line["campaign"]:
            assert campaigns[order.campaign_id].name == line["campaign"]
            assert coupons[order.coupon_id].code == line["coupon_code"]
        else:
            assert order.campaign_id is None and order.coupon_id is None
    # Created campaigns and coupons span the rows that use them.
    used = [as_datetime(line["ordered_at"]).date() for line in lines if line["campaign"]]
    (campaign,) = campaigns.values()
    assert (campaign.kind, campaign.starts_on, campaign.ends_on) == ("imported", min(used), max(used))
    (coupon,) = coupons.values()
    assert (coupon.valid_from, coupon.valid_to, coupon.campaign_id) == (min(used), max(used), campaign.id)


def test_coupon_events_are_imported_and_linked_to_orders(engine, tmp_path):
    assert run(engine, "transactions", transactions_file(tmp_path / "orders.csv", 5)).ok
    header = ["customer_id", "coupon_code", "event", "occurred_at", "branch", "order_id"]
    rows = [
        ["C1", "WELCOME", "issued", "2024-01-01", "Main", ""],
        ["C1", "WELCOME", "Claimed", "2024-01-03 09:00", "Main", ""],
        ["C1", "WELCOME", "BURNED", "2024-01-05 12:30:00", "North", "O1"],
        ["C9", "LATE", "expired", "2024-06-30", "", ""],
    ]
    path = write_csv(tmp_path / "events.csv", header, rows)

    result = run(engine, "coupon_events", path)

    assert result.ok, result.errors
    assert (result.rows, result.created_customers) == (4, 1)
    ids = customer_ids(engine)
    codes = {c.id: c for c in rows_of(engine, select(Coupon.__table__))}
    orders = dict(rows_of(engine, select(Transaction.id, Transaction.external_id)))
    branches = dict(rows_of(engine, select(Branch.id, Branch.name)))
    stored = sorted(rows_of(engine, select(CouponEvent.__table__)), key=lambda e: e.occurred_at)
    lines = sorted(read_csv(path), key=lambda line: as_datetime(line["occurred_at"]))
    assert len(stored) == len(lines)
    for event, line in zip(stored, lines):
        assert event.customer_id == ids[line["customer_id"]]
        assert codes[event.coupon_id].code == line["coupon_code"]
        assert event.event == line["event"].lower()
        assert event.occurred_at == as_datetime(line["occurred_at"])
        assert branches.get(event.branch_id) == (line["branch"] or None)
        assert orders.get(event.transaction_id) == (line["order_id"] or None)
    welcome = next(c for c in codes.values() if c.code == "WELCOME")
    assert (welcome.valid_from, welcome.valid_to) == (dt.date(2024, 1, 1), dt.date(2024, 1, 5))


def test_campaign_assignments_are_imported(engine, tmp_path):
    header = ["Customer ID", "Campaign Name", "Group", "Assigned On"]
    rows = [[f"C{i}", ["Spring", "Summer"][i % 2], ["control", "treatment"][i % 3 % 2], f"2024-04-{1 + i:02d}"]
            for i in range(10)]
    path = write_csv(tmp_path / "assignments.csv", header, rows)

    result = run(engine, "campaign_assignments", path)

    assert result.ok, result.errors
    assert (result.rows, result.created_customers) == (10, 10)
    ids = customer_ids(engine)
    names = dict(rows_of(engine, select(Campaign.id, Campaign.name)))
    stored = {(a.customer_id, a.campaign_id): a for a in rows_of(engine, select(CampaignAssignment.__table__))}
    assert len(stored) == 10
    for line in read_csv(path):
        campaign_id = next(i for i, n in names.items() if n == line["Campaign Name"])
        assignment = stored[(ids[line["Customer ID"]], campaign_id)]
        assert assignment.variant == line["Group"]
        assert assignment.assigned_at == as_datetime(line["Assigned On"])


def test_survey_responses_are_imported(engine, tmp_path):
    header = ["customer", "date", "NPS", "comment"]
    rows = [[f"C{i % 3}", f"2024-05-{1 + i:02d}T08:00:00", str(i), "great, really" if i % 2 else ""] for i in range(11)]
    path = write_csv(tmp_path / "nps.csv", header, rows)

    result = run(engine, "survey_responses", path)

    assert result.ok, result.errors
    ids = customer_ids(engine)
    stored = {(s.customer_id, s.answered_at): s for s in rows_of(engine, select(SurveyResponse.__table__))}
    assert len(stored) == 11
    for line in read_csv(path):
        response = stored[(ids[line["customer"]], as_datetime(line["date"]))]
        assert response.nps_score == int(line["NPS"])
        assert response.comment == (line["comment"] or None)


def test_created_campaigns_span_every_chunk_and_stored_ones_stay(engine, tmp_path):
    first = write_csv(tmp_path / "a.csv", ["customer_id", "date", "amount", "campaign"], [["C1", "2024-06-01", "1", "Old"]])
    assert run(engine, "transactions", first).ok
    rows = [["C1", f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}", "1", "New" if i % 2 else "Old"] for i in range(60)]
    path = write_csv(tmp_path / "b.csv", ["customer_id", "date", "amount", "campaign"], rows)

    assert run(engine, "transactions", path, chunk_size=7).ok

    windows = {name: (start, end) for name, start, end in
               rows_of(engine, select(Campaign.name, Campaign.starts_on, Campaign.ends_on))}
    new_days = [dt.date.fromisoformat(line["date"]) for line in read_csv(path) if line["campaign"] == "New"]
    assert windows == {"Old": (dt.date(2024, 6, 1), dt.date(2024, 6, 1)), "New": (min(new_days), max(new_days))}


# ------------------------------------------------------------------ headers
HEADER_SPELLINGS = [
    ["customer_id", "order_date", "revenue"],
    ["CustomerID", "Date", "Amount"],
    ["Customer ID", "Ordered At", "Net Amount"],
    [" customer external id ", "ORDER-DATE", "net_amount"],
    ["customer_external_id", "ordered_at", "Revenue"],
]


def test_headers_match_by_alias_ignoring_case_and_spacing(engine, tmp_path):
    for i, header in enumerate(HEADER_SPELLINGS):
        path = write_csv(tmp_path / f"t{i}.csv", header, [[f"C{i}", f"2024-01-0{i + 1}", f"{i}.50"]])
        result = run(engine, "transactions", path)
        assert result.ok, (header, result.errors)
    stored = rows_of(engine, select(Customer.external_id, Transaction.ordered_at, Transaction.amount)
                     .join(Customer, Customer.id == Transaction.customer_id).order_by(Transaction.ordered_at))
    assert stored == [(f"C{i}", dt.datetime(2024, 1, i + 1), i + 0.5) for i in range(len(HEADER_SPELLINGS))]


def test_unknown_columns_are_ignored_and_reported(engine, tmp_path):
    path = write_csv(tmp_path / "t.csv", ["customer_id", "loyalty tier", "date", "amount", ""],
                     [["C1", "gold", "2024-01-02", "3", "x"]])
    result = run(engine, "transactions", path)
    assert result.ok
    assert result.ignored_columns == ("loyalty tier", "(column 5 without a name)")


def test_missing_required_column_is_an_error_naming_it(engine, tmp_path):
    path = write_csv(tmp_path / "t.csv", ["customer_id", "revenue"], [["C1", "3"]])
    result = run(engine, "transactions", path)
    assert not result.ok
    (error,) = result.errors
    assert (error.row, error.column) == (1, "ordered_at")
    assert "Required column 'ordered_at' is missing" in error.reason and "order_date" in error.reason
    assert table_counts(engine)["transactions"] == 0


def test_duplicate_header_is_an_error_naming_both_columns(engine, tmp_path):
    path = write_csv(tmp_path / "t.csv", ["Customer ID", "customer_id", "date", "amount"], [["C1", "C1", "2024-01-02", "3"]])
    result = run(engine, "transactions", path)
    (error,) = result.errors
    assert error.row == 1
    assert "'Customer ID'" in error.reason and "'customer_id'" in error.reason


def test_semicolon_separated_files_are_read(engine, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("customer_id;date;amount\nC1;2024-01-02;3.25\n", encoding="utf-8")
    assert run(engine, "transactions", path).ok
    assert rows_of(engine, select(Transaction.amount)) == [(3.25,)]


# ------------------------------------------------------------------ encodings and file shape
def test_utf8_with_bom_is_read(engine, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + "customer_id,name,gender\nC1,Jürgen Müller,M\n".encode())
    result = run(engine, "customers", path)
    assert result.ok, result.errors
    assert rows_of(engine, select(Customer.external_id, Customer.name, Customer.gender)) == [("C1", "Jürgen Müller", "Male")]


FOREIGN_FILES = {
    "latin-1": ("customer_id,name\nC1,Jürgen Müller\n".encode("latin-1"), "not UTF-8"),
    "utf-16 with BOM": ("customer_id,name\nC1,Ana\n".encode("utf-16"), "UTF-16"),
    "utf-16 without BOM": ("customer_id,name\nC1,Ana\n".encode("utf-16-le"), "NUL bytes"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
}


def test_other_encodings_are_rejected_without_writing(engine):
    for name, (content, expected) in FOREIGN_FILES.items():
        result = run(engine, "customers", content, filename="people.csv")
        assert len(result.errors) == 1 and expected in result.errors[0].reason, (name, result.errors)
    assert table_counts(engine)["customers"] == 0
    statuses = rows_of(engine, select(ImportJob.status))
    assert statuses == [("failed",)] * len(FOREIGN_FILES)


def test_latin1_error_names_the_line(engine):
    content = "customer_id,name\nC1,Ana\nC2,Zoë\n".encode("latin-1")
    (error,) = run(engine, "customers", content).errors
    assert (error.row, error.value) == (3, "\\xeb")


def test_empty_files_are_errors(engine):
    for content in (b"", codecs.BOM_UTF8, b"\n\n", b"customer_id,date,amount\n", b"customer_id,date,amount\n\n,,\n"):
        result = run(engine, "transactions", content)
        assert not result.ok and result.rows == 0, content
        assert "empty" in result.errors[0].reason or "no data rows" in result.errors[0].reason
    assert table_counts(engine)["transactions"] == 0


def test_a_row_with_too_many_fields_is_an_error(engine, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\nC1,2024-01-02,3\nC2,2024-01-03,4,oops\n", encoding="utf-8")
    result = run(engine, "transactions", path)
    (error,) = result.errors
    assert error.row == 3 and "4 fields" in error.reason
    assert table_counts(engine)["transactions"] == 0


def test_streams_and_bytes_are_accepted(engine, tmp_path):
    content = b"customer_id,date,amount\nC1,2024-01-02,3\n"

    class Unseekable(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self._inner.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    assert run(engine, "transactions", content).ok
    assert run(engine, "transactions", io.BytesIO(content)).ok
    assert run(engine, "transactions", Unseekable(content)).ok
    assert table_counts(engine)["transactions"] == 3


# ------------------------------------------------------------------ all or nothing
@pytest.mark.parametrize(("column", "value", "reason"), [
    ("order_date", "2024-13-45", "Not a valid date"),
    ("revenue", "12,5O", "Not a number"),
    ("revenue", "-3.00", "Must not be negative"),
])
def test_one_bad_row_in_the_middle_commits_nothing(engine, tmp_path, column, value, reason):
    assert run(engine, "transactions", transactions_file(tmp_path / "first.csv", 3, start=5000)).ok
    before = table_counts(engine)
    path = transactions_file(tmp_path / "orders.csv", 1000, bad_row=500, bad_column=column, bad_value=value)

    result = run(engine, "transactions", path)

    assert not result.ok and result.rows == 0
    (error,) = result.errors
    assert (error.row, error.column, error.value) == (500, column, value)
    assert reason in error.reason
    assert read_csv(path)[500 - 2][column] == value  # the row a spreadsheet shows as 500
    assert table_counts(engine) == before


def test_a_bad_row_in_the_last_chunk_commits_nothing(engine, tmp_path):
    path = transactions_file(tmp_path / "orders.csv", 450, bad_row=449, bad_column="revenue", bad_value="n/a")
    calls: list[tuple[int, int | None]] = []

    result = run(engine, "transactions", path, chunk_size=100, progress=lambda done, total: calls.append((done, total)))

    assert [(e.row, e.column, e.value) for e in result.errors] == [(449, "revenue", "n/a")]
    assert table_counts(engine) == {name: 0 for name in table_counts(engine)}
    assert [done for done, _ in calls] == [0, 100, 200, 300, 400, 450]
    assert {total for _, total in calls} == {450}


def test_chunked_import_succeeds_across_chunks(engine, tmp_path):
    path = transactions_file(tmp_path / "orders.csv", 450)
    calls: list[tuple[int, int | None]] = []
    result = run(engine, "transactions", path, chunk_size=100, progress=lambda done, total: calls.append((done, total)))
    assert result.ok and result.rows == 450
    assert result.created_customers == 37
    assert table_counts(engine)["transactions"] == 450
    assert calls[-1] == (450, 450)


def test_errors_stop_after_the_limit(engine, tmp_path):
    rows = [[f"C{i}", "yesterday", "-1"] for i in range(30)]
    path = write_csv(tmp_path / "t.csv", ["customer_id", "date", "amount"], rows)
    result = run(engine, "transactions", path, max_errors=7, chunk_size=10)
    assert len(result.errors) == 7 and result.errors_truncated
    assert [e.row for e in result.errors] == [2, 2, 3, 3, 4, 4, 5]
    assert "stopped after 7" in result.summary()


@pytest.mark.parametrize(("kind", "header", "good", "bad", "column", "reason"), [
    ("transactions", ["customer_id", "date", "amount"], ["C0", "2024-01-01", "0"], ["C1", "2024-01-01", "-0.01"],
     "amount", "Must not be negative"),
    ("survey_responses", ["customer_id", "answered_at", "nps"], ["C0", "2024-01-01", "10"], ["C1", "2024-01-01", "11"],
     "nps", "between 0 and 10"),
    ("survey_responses", ["customer_id", "answered_at", "nps"], ["C0", "2024-01-01", "0"], ["C1", "2024-01-01", "7.5"],
     "nps", "whole number"),
    ("coupon_events", ["customer_id", "coupon", "event", "date"], ["C0", "X", "expired", "2024-01-01"],
     ["C1", "X", "redeemed", "2024-01-01"], "event", "one of issued, claimed, burned, expired"),
    ("customers", ["customer_id", "gender"], ["C0", "f"], ["C1", "robot"], "gender", "one of Female, Male, Other, Unknown"),
    ("customers", ["customer_id", "age"], ["C0", "120"], ["C1", "130"], "age", "between 0 and 120"),
    ("customers", ["customer_id", "birth_date"], ["C0", "1900-01-01"], ["C1", "1800-01-01"], "birth_date", "Date outside"),
    ("campaign_assignments", ["customer_id", "campaign", "variant", "assigned_at"], ["C0", "Spring", "control", "2024-01-01"],
     ["C1", "Spring", "", "2024-01-01"], "variant", "A value is required"),
])
def test_invalid_values_are_reported(engine, tmp_path, kind, header, good, bad, column, reason):
    path = write_csv(tmp_path / "f.csv", header, [good, bad])
    result = run(engine, kind, path)
    (error,) = result.errors
    assert (error.row, error.column, error.value) == (3, column, bad[header.index(column)])
    assert reason in error.reason
    assert table_counts(engine) == {name: 0 for name in table_counts(engine)}
    assert run(engine, kind, write_csv(tmp_path / "good.csv", header, [good])).ok


def test_coupon_event_for_an_unknown_order_is_an_error(engine, tmp_path):
    path = write_csv(tmp_path / "e.csv", ["customer_id", "coupon_code", "event", "occurred_at", "order_id"],
                     [["C1", "X", "burned", "2024-01-01", "NOPE"]])
    (error,) = run(engine, "coupon_events", path).errors
    assert (error.row, error.column, error.value) == (2, "order_id", "NOPE")
    assert table_counts(engine)["coupons"] == 0


def test_duplicate_order_ids_in_one_file_are_errors_even_across_chunks(engine, tmp_path):
    rows = [[f"O{i}", "C1", "2024-01-01", "1"] for i in range(25)] + [["O3", "C1", "2024-01-01", "1"]]
    path = write_csv(tmp_path / "t.csv", ["order_id", "customer_id", "date", "amount"], rows)
    (error,) = run(engine, "transactions", path, chunk_size=10).errors
    assert (error.row, error.column, error.value) == (27, "order_id", "O3")
    assert "row 5" in error.reason


# ------------------------------------------------------------------ re-imports
def test_reimporting_orders_updates_them(engine, tmp_path):
    path = transactions_file(tmp_path / "orders.csv", 20)
    assert run(engine, "transactions", path).ok
    changed = write_csv(tmp_path / "changed.csv", ["order_id", "customer_id", "date", "amount"],
                        [["O3", "C3", "2024-02-02", "99.99"], ["O100", "C1", "2024-02-03", "5"]])

    result = run(engine, "transactions", changed)

    assert (result.ok, result.inserted, result.updated) == (True, 1, 1)
    assert table_counts(engine)["transactions"] == 21
    assert rows_of(engine, select(Transaction.amount, Transaction.ordered_at).where(Transaction.external_id == "O3")) == [
        (99.99, dt.datetime(2024, 2, 2))]
    assert run(engine, "transactions", changed).inserted == 0
    assert table_counts(engine)["transactions"] == 21


def test_customers_are_upserted_and_absent_columns_kept(engine, tmp_path):
    first = write_csv(tmp_path / "a.csv", ["customer_id", "name", "country", "income"],
                      [["C1", "Ana", "Spain", "1000"], ["C2", "Ben", "Chile", "2000"]])
    assert run(engine, "customers", first).ok
    second = write_csv(tmp_path / "b.csv", ["customer id", "country", "gender"],
                       [["C2", "Peru", "m"], ["C3", "", "f"]])

    result = run(engine, "customers", second)

    assert (result.inserted, result.updated, result.created_customers) == (1, 1, 1)
    stored = {r.external_id: r for r in rows_of(engine, select(Customer.__table__))}
    assert (stored["C1"].name, stored["C1"].country, stored["C1"].gender) == ("Ana", "Spain", "Unknown")
    assert (stored["C2"].name, stored["C2"].country, stored["C2"].income, stored["C2"].gender) == (
        "Ben", "Peru", 2000.0, "Male")
    assert (stored["C3"].country, stored["C3"].gender) == (None, "Female")


def test_transactions_only_file_creates_unknown_customers(engine, tmp_path):
    write_csv(tmp_path / "c.csv", ["customer_id", "name", "gender"], [["C1", "Known", "F"]])
    assert run(engine, "customers", tmp_path / "c.csv").ok
    path = write_csv(tmp_path / "t.csv", ["customer_id", "date", "amount"],
                     [["C1", "2024-01-01", "1"], ["NEW-1", "2024-01-02", "2"], ["NEW-2", "2024-01-03", "3"],
                      ["NEW-1", "2024-01-04", "4"]])

    result = run(engine, "transactions", path)

    assert (result.ok, result.created_customers) == (True, 2)
    created = rows_of(engine, select(Customer.__table__).where(Customer.external_id.like("NEW-%")))
    assert {c.external_id for c in created} == {"NEW-1", "NEW-2"}
    for customer in created:
        assert customer.gender == "Unknown"
        assert [customer.name, customer.birth_date, customer.age, customer.country, customer.city, customer.income,
                customer.children, customer.marital_status, customer.signup_date] == [None] * 9
    assert rows_of(engine, select(Customer.gender).where(Customer.external_id == "C1")) == [("Female",)]


def test_reimporting_events_assignments_and_surveys_adds_nothing(engine, tmp_path):
    files = {
        "coupon_events": write_csv(tmp_path / "e.csv", ["customer_id", "coupon_code", "event", "occurred_at"],
                                   [["C1", "X", "issued", "2024-01-01 10:00"], ["C1", "X", "burned", "2024-01-02"]]),
        "campaign_assignments": write_csv(tmp_path / "a.csv", ["customer_id", "campaign", "variant", "assigned_at"],
                                          [["C1", "Spring", "control", "2024-01-01"],
                                           ["C1", "Spring", "treatment", "2024-01-01"]]),
        "survey_responses": write_csv(tmp_path / "s.csv", ["customer_id", "answered_at", "nps_score"],
                                      [["C1", "2024-01-01 08:00", "9"]]),
    }
    for kind, path in files.items():
        assert run(engine, kind, path).ok
    before = table_counts(engine)
    for kind, path in files.items():
        result = run(engine, kind, path)
        assert (result.ok, result.inserted, result.updated) == (True, 0, result.rows)
    assert table_counts(engine) == before
    corrected = write_csv(tmp_path / "s2.csv", ["customer_id", "answered_at", "nps_score"], [["C1", "2024-01-01 08:00", "3"]])
    assert run(engine, "survey_responses", corrected).updated == 1
    assert rows_of(engine, select(SurveyResponse.nps_score)) == [(3,)]


# ------------------------------------------------------------------ job records and refresh
def test_successful_import_records_a_job(engine, tmp_path):
    path = transactions_file(tmp_path / "orders.csv", 5)
    result = run(engine, "transactions", path, username="alice")
    (job,) = rows_of(engine, select(ImportJob.__table__))
    assert job.id == result.job_id
    assert (job.kind, job.filename, job.username, job.status, job.rows, job.errors) == (
        "transactions", "orders.csv", "alice", "succeeded", 5, [])
    assert job.started_at <= job.finished_at


def test_failed_import_records_a_job_with_its_errors(engine, tmp_path):
    rows = [["C1", "2024-01-01", "x"]] * 150
    path = write_csv(tmp_path / "bad.csv", ["customer_id", "date", "amount"], rows)
    result = run(engine, "transactions", path, filename="upload-7.csv", username="bob")
    assert len(result.errors) == 150
    (job,) = rows_of(engine, select(ImportJob.__table__))
    assert (job.kind, job.filename, job.username, job.status, job.rows) == ("transactions", "upload-7.csv", "bob", "failed", 0)
    assert job.finished_at is not None
    assert len(job.errors) == 101
    assert job.errors[0] == {"row": 2, "column": "amount", "value": "x", "reason": result.errors[0].reason}
    assert "50 more errors" in job.errors[-1]["reason"]


def test_a_file_level_failure_records_a_job(engine):
    result = run(engine, "customers", "/nonexistent/customers.csv")
    assert not result.ok and "Cannot open" in result.errors[0].reason
    assert rows_of(engine, select(ImportJob.status, ImportJob.filename)) == [("failed", "customers.csv")]


def test_an_exception_from_progress_cancels_and_records_the_job(engine, tmp_path):
    def cancel(done: int, _total: int | None) -> None:
        if done >= 100:
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError):
        run(engine, "transactions", transactions_file(tmp_path / "orders.csv", 300), chunk_size=100, progress=cancel)
    assert table_counts(engine) == {name: 0 for name in table_counts(engine)}
    ((status, errors),) = rows_of(engine, select(ImportJob.status, ImportJob.errors))
    assert status == "failed" and "RuntimeError" in errors[0]["reason"]


def test_successful_import_refreshes_the_derived_data(engine, tmp_path):
    path = transactions_file(tmp_path / "orders.csv", 10)
    result = import_csv(engine, "transactions", path)  # default refresh: services.refresh.refresh
    assert result.ok
    with engine.connect() as connection:
        assert connection.scalar(select(func.max(DataVersion.id))) == result.data_version
        assert connection.scalar(select(func.count()).select_from(DataVersion)) == 1
    second = import_csv(engine, "transactions", transactions_file(tmp_path / "more.csv", 3, start=100))
    assert second.data_version == result.data_version + 1


def test_failed_import_does_not_refresh(engine, tmp_path):
    calls = []
    path = transactions_file(tmp_path / "orders.csv", 3, bad_row=3, bad_column="revenue", bad_value="?")
    assert not run(engine, "transactions", path, refresh=calls.append).ok
    assert calls == []
    assert run(engine, "transactions", transactions_file(tmp_path / "ok.csv", 3), refresh=calls.append).ok
    assert calls == [engine]


# ------------------------------------------------------------------ API
def test_unknown_kind_is_a_programmer_error(engine):
    with pytest.raises(ValueError, match=r"Unknown kind 'orders'; expected one of customers, transactions"):
        import_csv(engine, "orders", b"x")
    assert rows_of(engine, select(ImportJob.id)) == []


def test_describe_kinds_lists_columns_and_aliases():
    kinds = describe_kinds()
    assert tuple(kinds) == KINDS == ("customers", "transactions", "coupon_events", "campaign_assignments",
                                     "survey_responses")
    columns = {c["name"]: c for c in kinds["transactions"]["columns"]}
    assert columns["customer_id"]["required"] and "customer external id" in columns["customer_id"]["aliases"]
    assert {"revenue", "net_amount"} <= set(columns["amount"]["aliases"])
    assert columns["amount"]["constraints"] == ">= 0"
    assert not columns["order_id"]["required"]
    nps = next(c for c in kinds["survey_responses"]["columns"] if c["name"] == "nps_score")
    assert nps["constraints"] == "0 to 10"


def test_row_errors_read_like_a_spreadsheet_location():
    error = RowError(500, "Order Date", "2024-13-45", "Not a valid date.")
    assert str(error) == "Row 500, column 'Order Date' (value '2024-13-45'): Not a valid date."
    assert error.to_dict() == {"row": 500, "column": "Order Date", "value": "2024-13-45", "reason": "Not a valid date."}
