"""What each kind of CSV import accepts: one declarative table of columns per kind.

Headers are matched by name with case, spaces, underscores, hyphens and other punctuation
ignored (`Customer ID`, `customer_id`, `CustomerID` and `customer-id` are the same header).
Every column lists its canonical name, the aliases it also answers to, whether it is
required, its type and its constraints. The importer, the README and the upload page all
read this table; change a column here and all of them follow.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from services.models import COUPON_EVENTS, GENDERS

ColumnType = Literal["str", "int", "float", "date", "datetime", "enum"]

EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)


@dataclass(frozen=True)
class ColumnSpec:
    """One importable column: how it is found, parsed and checked."""

    name: str
    type: ColumnType
    description: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    max_length: int | None = None  # str
    minimum: float | None = None  # int, float
    maximum: float | None = None  # int, float
    default: Any = None  # used for empty cells
    choices: tuple[str, ...] = ()  # enum: canonical values
    synonyms: tuple[tuple[str, str], ...] = ()  # enum: (accepted spelling, canonical value)
    money: bool = False  # float rounded to cents

    def constraint_text(self) -> str:
        """The constraints in words, for documentation and the upload page."""
        parts: list[str] = []
        if self.max_length:
            parts.append(f"at most {self.max_length} characters")
        if self.minimum is not None and self.maximum is not None:
            parts.append(f"{self.minimum:g} to {self.maximum:g}")
        elif self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        if self.choices:
            parts.append("one of " + ", ".join(self.choices))
        if self.type == "date":
            parts.append("YYYY-MM-DD")
        if self.type == "datetime":
            parts.append("YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS]; offsets are converted to UTC")
        if self.default is not None:
            parts.append(f"empty means {self.default}")
        return "; ".join(parts)


@dataclass(frozen=True)
class KindSpec:
    """One import kind: its columns and the fields that identify a row for re-imports."""

    name: str
    title: str
    description: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()  # unique within a file; matches stored rows on re-import

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def normalise_header(header: str) -> str:
    """The comparison form of a header: case-folded, letters and digits only."""
    text = unicodedata.normalize("NFKC", header).casefold()
    return re.sub(r"[\W_]+", "", text)


# --------------------------------------------------------------- shared columns
_CUSTOMER_ALIASES = (
    "customer_external_id", "customer external id", "customer", "customer_no",
    "customer number", "client_id", "client", "member_id",
)


def _customer_ref(description: str) -> ColumnSpec:
    return ColumnSpec("customer_id", "str", description, required=True,
                      aliases=_CUSTOMER_ALIASES, max_length=64)


def _branch_columns() -> tuple[ColumnSpec, ...]:
    return (
        ColumnSpec("branch", "str", "Branch (store) name; unknown names create the branch.",
                   aliases=("branch_name", "store", "store_name", "shop", "outlet"), max_length=120),
        ColumnSpec("branch_city", "str", "City of a branch this file creates (otherwise 'Unknown').",
                   aliases=("store_city", "shop_city"), max_length=80),
        ColumnSpec("branch_country", "str",
                   "Country of a branch this file creates (otherwise 'Unknown').",
                   aliases=("store_country", "shop_country"), max_length=80),
    )


_CAMPAIGN = ColumnSpec(
    "campaign", "str", "Campaign name; unknown names create the campaign.",
    aliases=("campaign_name",), max_length=120)
_COUPON_ALIASES = ("coupon", "coupon_code", "voucher", "voucher_code", "promo_code", "promotion_code")

_GENDER_SYNONYMS = (
    ("f", "Female"), ("female", "Female"), ("w", "Female"), ("woman", "Female"),
    ("m", "Male"), ("male", "Male"), ("man", "Male"),
    ("o", "Other"), ("other", "Other"), ("x", "Other"), ("d", "Other"), ("diverse", "Other"),
    ("nonbinary", "Other"), ("non-binary", "Other"),
    ("u", "Unknown"), ("unknown", "Unknown"), ("n/a", "Unknown"), ("na", "Unknown"),
    ("prefer not to say", "Unknown"),
)

# --------------------------------------------------------------- kinds
CUSTOMERS = KindSpec(
    name="customers",
    title="Customers",
    description=("One row per customer. Customers are matched by customer_id: known ones are "
                 "updated (columns missing from the file keep their stored values; empty cells "
                 "clear them), new ones are created."),
    key=("customer_id",),
    columns=(
        ColumnSpec("customer_id", "str", "The customer's id in your systems (unique).",
                   required=True, aliases=("external_id", "id") + _CUSTOMER_ALIASES, max_length=64),
        ColumnSpec("name", "str", "Display name.",
                   aliases=("full_name", "customer_name", "client_name"), max_length=120),
        ColumnSpec("gender", "enum", "Gender; F/M/female/male/... are normalised.",
                   aliases=("sex",), choices=GENDERS, synonyms=_GENDER_SYNONYMS, default="Unknown"),
        ColumnSpec("birth_date", "date", "Date of birth.",
                   aliases=("date_of_birth", "dob", "birthdate", "birthday", "born", "born_on")),
        ColumnSpec("age", "int", "Age in years, when no birth date is known.",
                   aliases=("age_years",), minimum=0, maximum=120),
        ColumnSpec("country", "str", "Country.", aliases=("country_name", "nation"), max_length=80),
        ColumnSpec("city", "str", "City.", aliases=("town", "city_name"), max_length=80),
        ColumnSpec("income", "float", "Yearly income.",
                   aliases=("annual_income", "yearly_income", "household_income"), minimum=0, money=True),
        ColumnSpec("children", "int", "Number of children.",
                   aliases=("kids", "number_of_children", "num_children", "children_count"),
                   minimum=0, maximum=30),
        ColumnSpec("marital_status", "str", "Marital status as written in the file.",
                   aliases=("marital", "relationship_status", "civil_status"), max_length=24),
        ColumnSpec("signup_date", "date", "Date the customer signed up.",
                   aliases=("signed_up", "signed_up_on", "registration_date", "registered_on", "join_date",
                            "joined", "joined_on", "customer_since", "dt_customer")),
    ),
)

TRANSACTIONS = KindSpec(
    name="transactions",
    title="Transactions",
    description=("One row per order. Unknown customers are created with unknown demographics. "
                 "With an order_id column, re-importing an order updates it instead of adding it "
                 "twice; without one, every row is added."),
    key=("order_id",),
    columns=(
        ColumnSpec("order_id", "str", "Order id (optional; unique within the file).",
                   aliases=("external_id", "order", "order_no", "order_number", "transaction_id",
                            "invoice", "invoice_id", "invoice_no", "invoice_number", "receipt_id"),
                   max_length=64),
        _customer_ref("The ordering customer's id (customer_id of the customers file)."),
        ColumnSpec("ordered_at", "datetime", "Order date or date and time.", required=True,
                   aliases=("order_date", "date", "ordered_on", "order_time", "order_datetime",
                            "purchase_date", "purchased_at", "transaction_date", "invoice_date",
                            "timestamp", "datetime", "created_at")),
        ColumnSpec("amount", "float", "Net revenue of the order, after discounts.", required=True,
                   aliases=("revenue", "net_amount", "net_revenue", "net", "sales", "net_sales",
                            "total", "order_total", "order_value", "value"), minimum=0, money=True),
        ColumnSpec("discount", "float", "Discount granted on the order.",
                   aliases=("discount_amount", "discount_value", "rebate"), minimum=0, default=0.0,
                   money=True),
        ColumnSpec("cost", "float", "Cost of the goods sold (profit = amount - cost).",
                   aliases=("cogs", "cost_of_goods", "cost_of_goods_sold", "product_cost"),
                   minimum=0, default=0.0, money=True),
        ColumnSpec("quantity", "int", "Number of items.",
                   aliases=("qty", "units", "items", "item_count"), minimum=1, default=1),
        ColumnSpec("category", "str", "Product category.",
                   aliases=("product_category", "product_group"), max_length=60),
        ColumnSpec("channel", "str", "Sales channel.", aliases=("sales_channel",), max_length=30),
        *_branch_columns(),
        _CAMPAIGN,
        ColumnSpec("coupon_code", "str", "Code of the coupon used; unknown codes create the coupon.",
                   aliases=_COUPON_ALIASES, max_length=40),
    ),
)

COUPON_EVENTS_KIND = KindSpec(
    name="coupon_events",
    title="Coupon events",
    description=("One row per coupon event. Unknown customers and coupons are created. A row "
                 "with the same coupon, customer, event and time as a stored one updates it."),
    key=("coupon_code", "customer_id", "event", "occurred_at"),
    columns=(
        _customer_ref("The customer's id (customer_id of the customers file)."),
        ColumnSpec("coupon_code", "str", "Coupon code; unknown codes create the coupon.",
                   required=True, aliases=_COUPON_ALIASES + ("code",), max_length=40),
        ColumnSpec("event", "enum", "What happened to the coupon.", required=True,
                   aliases=("event_type", "coupon_event", "action", "status"), choices=COUPON_EVENTS),
        ColumnSpec("occurred_at", "datetime", "When it happened.", required=True,
                   aliases=("date", "event_date", "event_time", "timestamp", "datetime", "occurred",
                            "occurred_on", "happened_at", "created_at")),
        *_branch_columns(),
        ColumnSpec("order_id", "str", "Order the coupon was burned on (must already be imported).",
                   aliases=("transaction_id", "order", "order_no", "order_number", "invoice_id"),
                   max_length=64),
        ColumnSpec("campaign", "str", "Campaign of a coupon this file creates.",
                   aliases=("campaign_name",), max_length=120),
    ),
)

CAMPAIGN_ASSIGNMENTS = KindSpec(
    name="campaign_assignments",
    title="Campaign assignments",
    description=("One row per assignment of a customer to a campaign variant. Unknown customers "
                 "and campaigns are created. Identical assignments already stored are kept once."),
    key=("campaign", "customer_id", "variant", "assigned_at"),
    columns=(
        _customer_ref("The customer's id (customer_id of the customers file)."),
        ColumnSpec("campaign", "str", "Campaign name; unknown names create the campaign.",
                   required=True, aliases=("campaign_name",), max_length=120),
        ColumnSpec("variant", "str", "Variant, e.g. control or treatment.", required=True,
                   aliases=("group", "arm", "treatment_group", "test_group", "cohort", "bucket"),
                   max_length=30),
        ColumnSpec("assigned_at", "datetime", "When the customer was assigned.", required=True,
                   aliases=("assigned_on", "assignment_date", "assigned", "date", "timestamp",
                            "datetime")),
    ),
)

SURVEY_RESPONSES = KindSpec(
    name="survey_responses",
    title="Survey responses",
    description=("One NPS answer per row. Unknown customers are created. A row with the same "
                 "customer and time as a stored answer replaces it."),
    key=("customer_id", "answered_at"),
    columns=(
        _customer_ref("The customer's id (customer_id of the customers file)."),
        ColumnSpec("answered_at", "datetime", "When the survey was answered.", required=True,
                   aliases=("answered_on", "date", "response_date", "survey_date", "submitted_at",
                            "submitted_on", "responded_at", "timestamp", "datetime")),
        ColumnSpec("nps_score", "int", "Likelihood to recommend, 0 to 10.", required=True,
                   aliases=("nps", "score", "rating", "recommend_score", "likelihood_to_recommend"),
                   minimum=0, maximum=10),
        ColumnSpec("comment", "str", "Free-text comment.",
                   aliases=("comments", "feedback", "verbatim", "remark", "remarks", "text")),
    ),
)

KINDS: MappingProxyType[str, KindSpec] = MappingProxyType({
    spec.name: spec
    for spec in (CUSTOMERS, TRANSACTIONS, COUPON_EVENTS_KIND, CAMPAIGN_ASSIGNMENTS, SURVEY_RESPONSES)
})


def kind_spec(kind: str) -> KindSpec:
    """The spec of a kind; ValueError naming the valid kinds otherwise."""
    try:
        return KINDS[kind]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown kind {kind!r}; expected one of {', '.join(KINDS)}") from None


def header_lookup(spec: KindSpec) -> dict[str, str]:
    """Normalised header -> canonical column name, for every name and alias of a kind."""
    lookup: dict[str, str] = {}
    for column in spec.columns:
        for name in (column.name, *column.aliases):
            key = normalise_header(name)
            if lookup.setdefault(key, column.name) != column.name:
                raise AssertionError(f"{spec.name}: header {name!r} is ambiguous")
    return lookup


def describe_kinds() -> dict[str, dict[str, Any]]:
    """Every kind with its columns, aliases, types and constraints (README, upload page)."""
    return {
        spec.name: {
            "title": spec.title,
            "description": spec.description,
            "key": list(spec.key),
            "columns": [
                {
                    "name": column.name,
                    "type": column.type,
                    "required": column.required,
                    "aliases": list(column.aliases),
                    "description": column.description,
                    "constraints": column.constraint_text(),
                    "choices": list(column.choices),
                }
                for column in spec.columns
            ],
        }
        for spec in KINDS.values()
    }
