"""Assign-customers callbacks: the form for one customer, the CSV upload for many, and its export."""
from __future__ import annotations

import base64
import binascii

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.segmentation_common import ANALYST_ROLES, message
from layouts import segmentation_assign as ids
from services.csv_export import to_csv
from services.segmentation import saved
from services.segmentation.assignment import assign_customers, read_customers_csv
from services.segmentation.features import available_features


def register(app, context) -> None:
    def clustering(value, with_pipeline: bool = True):
        """The saved clustering chosen in the browser, if it exists, and (when asked) its fitted pipeline."""
        if not isinstance(value, int):
            return None, None
        with context.engine().connect() as connection:
            info = next((c for c in saved.list_clusterings(connection) if c.id == value), None)
            pipeline = saved.load_pipeline(connection, value) if info and with_pipeline else None
        return info, pipeline

    @app.callback(Output(ids.FORM, "children"), Input(ids.CLUSTERING, "value"))
    def show_form(value):
        info, _pipeline = clustering(value, with_pipeline=False)
        if info is None:
            return html.Div("Choose a saved clustering to see the features it needs.",
                            className="small text-body-secondary")
        labels = context.analysed("lab-features", available_features)
        return dbc.Row([ids.field(name, labels.get(name, name)) for name in info.spec["features"]], className="g-2")

    @app.callback(
        Output(ids.ANSWER, "children"), Input(ids.ASSIGN, "n_clicks"), State(ids.CLUSTERING, "value"),
        State({"type": ids.FIELD, "feature": ALL}, "value"), State({"type": ids.FIELD, "feature": ALL}, "id"),
        prevent_initial_call=True,
    )
    def assign_one(_clicks, value, values, field_ids):
        context.require_role(ANALYST_ROLES)
        info, pipeline = clustering(value)
        if info is None:
            return message("Choose a saved clustering first.", ok=False)
        given = {field["feature"]: value for field, value in zip(field_ids, values) if isinstance(field, dict)}
        row = {name: given.get(name) for name in info.spec["features"]}
        if all(v is None for v in row.values()):
            return message("Enter at least one feature value.", ok=False)
        try:
            table = pd.DataFrame([row], dtype=float)
        except (TypeError, ValueError):
            return message("Every value must be a number.", ok=False)
        answer = assign_customers(pipeline, info.clusters, table).iloc[0]
        missing = [name for name, v in row.items() if v is None]
        filled = f" Missing values ({', '.join(missing)}) were filled with the medians the model learnt." \
            if missing else ""
        return message(f"Segment: {answer['segment']} — distance {answer['distance']:.2f} from its centre "
                       f"(in scaled units).{filled}")

    @app.callback(
        Output(ids.GRID, "rowData"), Output(ids.GRID, "columnDefs"), Output(ids.UPLOAD_FEEDBACK, "children"),
        Output(ids.RESULT, "data"),
        Input(ids.UPLOAD, "contents"), State(ids.UPLOAD, "filename"), State(ids.CLUSTERING, "value"),
        prevent_initial_call=True,
    )
    def assign_many(contents, filename, value):
        context.require_role(ANALYST_ROLES)
        info, pipeline = clustering(value)
        if info is None:
            return no_update, no_update, message("Choose a saved clustering before uploading.", ok=False), None
        try:
            raw = base64.b64decode(str(contents).partition(",")[2], validate=True)
            result = assign_customers(pipeline, info.clusters, read_customers_csv(raw, info.spec["features"]))
        except (ValueError, binascii.Error) as error:
            return [], [], message(f"{filename or 'The file'}: {error}", ok=False), None
        context.audit("assign customers", clustering_id=info.id, rows=len(result))
        columns = [{"field": name} for name in result.columns]
        counts = result["segment"].value_counts()
        summary = ", ".join(f"{name} {count:,}" for name, count in counts.items())
        records = result.astype(object).where(result.notna(), None).to_dict("records")
        return (records, columns, message(f"Assigned {len(result):,} customers: {summary}."),
                {"clustering": info.id, "rows": records})

    @app.callback(Output(ids.DOWNLOAD, "data"), Input(ids.EXPORT, "n_clicks"), State(ids.RESULT, "data"),
                  prevent_initial_call=True)
    def export_assignments(_clicks, result):
        if not result or not result.get("rows"):
            raise PreventUpdate
        return {"content": to_csv(pd.DataFrame(result["rows"])), "filename": "assigned-customers.csv",
                "type": "text/csv"}
