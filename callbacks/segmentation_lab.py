"""Clustering lab callbacks: the k scan and the clustering run as background jobs, their views, saving a run."""
from __future__ import annotations

import pandas as pd
from dash import Input, Output, State, no_update

from callbacks.segmentation_common import ANALYST_ROLES, FILTERS, THEME, message, write_saved
from dashapp.background import JobEnvironment, Requester, requester
from layouts import filter_bar as fb
from layouts import segmentation_charts as charts
from layouts import segmentation_lab as ids
from layouts import segmentation_segments as segment_ids
from layouts.figures import themed
from services.csv_export import to_csv
from services.filters import Filters, FilterOptions, filter_options, parse_search
from services.segmentation import lab, saved
from services.segmentation.clustering import ClusteringSpec
from services.segmentation.defaults import DEFAULT_FEATURES
from services.segmentation.features import available_features

NOT_ALLOWED = "Analysts and administrators run clusterings."
SETTINGS = (State(fb.STORE, "data"), State(ids.FEATURES, "value"), State(ids.SCALING, "value"),
            State(ids.ALGORITHM, "value"), State(ids.K, "value"), State(ids.EPS, "value"),
            State(ids.MIN_SAMPLES, "value"), State(ids.MIN_CLUSTER_SIZE, "value"), State(ids.SEED, "value"))


def running(status: str) -> list:
    """While a job runs: Run and Suggest k disabled, Cancel enabled; after it: progress and status cleared (its
    result speaks)."""
    return [(Output(ids.RUN, "disabled"), True, False), (Output(ids.SCAN, "disabled"), True, False),
            (Output(ids.CANCEL, "disabled"), False, True), (Output(ids.PROGRESS, "value"), 0, 0),
            (Output(status, "children"), "Starting…", "")]


def _number(value, kind):
    """A number from an input box; the value itself when it is not one (the spec then says what is wrong)."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        return value


def spec_of(features, scaling, algorithm, k, eps, min_samples, min_cluster_size, seed) -> ClusteringSpec:
    """The lab's settings from the browser as a checked spec (ValueError with a message for the page)."""
    return ClusteringSpec(
        features=tuple(name for name in features or () if isinstance(name, str)), scaling=scaling,
        algorithm=algorithm, k=_number(k, int), eps=_number(eps, float), min_samples=_number(min_samples, int),
        min_cluster_size=_number(min_cluster_size, int), random_state=_number(seed, int))


def job_filters(warehouse, search: str | None, who: Requester) -> tuple[Filters, FilterOptions]:
    """The filters of the job's query string, checked and scoped as in a request."""
    with warehouse.sql.connect() as connection:
        options = saved.with_segments(connection, filter_options(connection, who.scope))
    return parse_search(search, options).with_scope(who.scope), options


def _records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: floats rounded, missing values as null."""
    rounded = frame.round(4)
    return rounded.astype(object).where(rounded.notna(), None).to_dict("records")


def run_payload(run: lab.LabRun, run_id: str) -> dict:
    """What the browser needs to draw a run (the fitted model stays on the server)."""
    return {
        "run": run_id, "metrics": run.metrics(), "features": list(run.result.spec.features),
        "profiles": _records(run.profiles),
        "projections": {str(dims): {"points": points.round(4).to_dict("list"), "variance": list(variance)}
                        for dims, (points, variance) in run.projections.items()},
    }


def metrics_line(metrics: dict) -> str:
    silhouette = "n/a" if metrics["silhouette"] is None else f"{metrics['silhouette']:.2f}"
    noise = f" · {metrics['noise']:,} unclustered" if metrics["noise"] else ""
    return (f"{metrics['estimator']} · {metrics['customers']:,} customers · {metrics['clusters']} clusters{noise} · "
            f"silhouette {silhouette} (on a sample) · fitted in {metrics['seconds']:.1f} s")


def profile_columns(features: list[str], labels: dict[str, str]) -> list[dict]:
    means = [{"field": name, "headerName": labels.get(name, name), "type": "numericColumn", "width": 140,
              "valueFormatter": {"function": "params.value == null ? '–' : d3.format(',.4~r')(params.value)"}}
             for name in features]
    return [*ids.PROFILE_COLUMNS[:4], *means, *ids.PROFILE_COLUMNS[4:]]


def register(app, context, jobs: JobEnvironment) -> None:
    @app.callback(Output(ids.FEATURES, "options"), Output(ids.FEATURES, "value"), FILTERS,
                  State(ids.FEATURES, "value"), State(ids.PRESET_FEATURES, "data"))
    def offer_features(_search, chosen, preset):
        """The data's features; the choice kept, else the preset another tab asked for, else the defaults."""
        labels = context.analysed("lab-features", available_features)
        options = [{"label": label, "value": name} for name, label in labels.items()]
        for wanted in (chosen, preset, DEFAULT_FEATURES):
            kept = [name for name in wanted or () if isinstance(name, str) and name in labels]
            if kept:
                return options, kept
        return options, []

    def in_job(set_progress, search, settings, work) -> dict:
        """Check who asked and the settings, then `work(who, warehouse, filters, options, spec, progress)`;
        the result for the browser, or {"error": why not}."""
        who = requester()
        if who is None or who.role not in ANALYST_ROLES:
            return {"error": NOT_ALLOWED}
        try:
            spec = spec_of(*settings)
            with jobs.warehouse() as warehouse:
                filters, options = job_filters(warehouse, search, who)
                return work(who, warehouse, filters, options, spec,
                            lambda done, text: set_progress((round(100 * done), text)))
        except ValueError as error:
            return {"error": str(error)}

    @app.callback(
        Output(ids.SCAN_RESULT, "data"), Output(ids.K, "value"),
        Input(ids.SCAN, "n_clicks"), *SETTINGS,
        background=True, running=running(ids.SCAN_STATUS), cancel=[Input(ids.CANCEL, "n_clicks")],
        progress=[Output(ids.PROGRESS, "value"), Output(ids.SCAN_STATUS, "children")], prevent_initial_call=True,
    )
    def scan(set_progress, _clicks, search, *settings):
        def work(_who, warehouse, filters, options, spec, progress):
            table, suggested, reason = lab.scan_k(warehouse, filters, options, spec, progress)
            return {"scan": _records(table), "suggested": suggested, "reason": reason}

        result = in_job(set_progress, search, settings, work)
        return result, result.get("suggested", no_update)

    @app.callback(Output(ids.K_GRAPH, "figure"), Output(ids.K_REASON, "children"),
                  Input(ids.SCAN_RESULT, "data"), THEME)
    def show_scan(result, theme):
        result = result or {}
        if "error" in result:
            return themed(charts.k_choice(pd.DataFrame(), None), theme), message(result["error"], ok=False)
        table = pd.DataFrame(result.get("scan") or [], columns=["k", "inertia", "silhouette"])
        return themed(charts.k_choice(table, result.get("suggested")), theme), result.get("reason", "")

    @app.callback(
        Output(ids.RESULT, "data"),
        Input(ids.RUN, "n_clicks"), *SETTINGS,
        background=True, running=running(ids.STATUS), cancel=[Input(ids.CANCEL, "n_clicks")],
        progress=[Output(ids.PROGRESS, "value"), Output(ids.STATUS, "children")], prevent_initial_call=True,
    )
    def run(set_progress, _clicks, search, *settings):
        def work(who, warehouse, filters, options, spec, progress):
            outcome = lab.run_clustering(warehouse, filters, options, spec, progress)
            run_id = lab.keep_run(jobs.runs_dir, outcome, who.user_id, who.data_version,
                                  {"filters": filters.to_search()})
            return run_payload(outcome, run_id)

        return in_job(set_progress, search, settings, work)

    @app.callback(
        Output(ids.PROJECTION, "figure"), Output(ids.PROFILES, "rowData"), Output(ids.PROFILES, "columnDefs"),
        Output(ids.METRICS, "children"),
        Input(ids.RESULT, "data"), Input(ids.DIMS, "value"), THEME,
    )
    def show_run(result, dims, theme):
        result = result or {}
        if "profiles" not in result:
            error = message(result["error"], ok=False) if "error" in result else ""
            return (themed(charts.cluster_projection(pd.DataFrame(), {}, 2, ()), theme), [],
                    profile_columns([], {}), error)
        projections = result["projections"]
        shown = projections.get(str(dims)) or projections["2"]
        names = {int(row["cluster"]): row["name"] for row in result["profiles"]}
        figure = charts.cluster_projection(pd.DataFrame(shown["points"]), names, len(shown["variance"]),
                                           shown["variance"])
        labels = context.analysed("lab-features", available_features)
        return (themed(figure, theme), result["profiles"], profile_columns(result["features"], labels),
                metrics_line(result["metrics"]))

    def kept_run(result):
        return lab.load_run(context.runs_dir(), (result or {}).get("run"), context.user_id())

    @app.callback(
        Output(ids.SAVE_FEEDBACK, "children"), Output(segment_ids.REFRESH, "data", allow_duplicate=True),
        Input(ids.SAVE, "n_clicks"), State(ids.SAVE_NAME, "value"), State(ids.RESULT, "data"),
        State(segment_ids.REFRESH, "data"), prevent_initial_call=True,
    )
    def save(_clicks, name, result, counter):
        context.require_role(ANALYST_ROLES)
        kept = kept_run(result)
        if kept is None:
            return message("Run a clustering first (runs are kept for a day).", ok=False), no_update
        if kept["data_version"] != context.data_version():
            return message("The data has changed since this run: run the clustering again.", ok=False), no_update
        ids_saved, problem = write_saved(context, lambda connection: lab.save_run(connection, kept, name,
                                                                                 context.user_id()))
        if problem:
            return problem, no_update
        clustering_id, segment_ids_saved = ids_saved
        context.audit("save clustering", clustering_id=clustering_id, segments=len(segment_ids_saved))
        return (message(f"Saved the clustering and {len(segment_ids_saved)} segments; they are in the filter bar's "
                        "Saved segment list and under Assign customers."), (counter or 0) + 1)

    @app.callback(Output(ids.DOWNLOAD, "data"), Input(ids.EXPORT, "n_clicks"), State(ids.RESULT, "data"),
                  prevent_initial_call=True)
    def export_profiles(_clicks, result):
        kept = kept_run(result)
        if kept is None:
            return no_update
        context.audit("export", what="cluster profiles", rows=len(kept["profiles"]))
        return {"content": to_csv(kept["profiles"]), "filename": "cluster-profiles.csv", "type": "text/csv"}
