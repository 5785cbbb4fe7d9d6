"""Mount the Dash app on the Flask server: index page, per-request layout, callbacks."""
from __future__ import annotations

import dash
from flask import Flask
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

import callbacks
from dashapp import background
from dashapp.context import RequestContext
from dashapp.settings import PROJECT_ROOT
from layouts import shell

STYLESHEETS = [
    "/static/vendor/bootstrap.min.css",
    "/static/vendor/bootstrap-icons/bootstrap-icons.min.css",
]

INDEX = """<!DOCTYPE html>
<html lang="en" data-bs-theme="light">
    <head>
        {%metas%}
        <title>{%title%}</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
        <script src="/static/theme.js"></script>
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def serve_layout():
    """The shell for the logged-in user; built per request so it carries their name and scope."""
    if not current_user.is_authenticated:
        return dash.html.Div()  # never served: the guard answers 401 first
    context = RequestContext()
    return shell.layout(context.user(), generate_csrf(), context.filter_options())


def init_app(server: Flask) -> dash.Dash:
    settings = server.extensions["settings"]
    jobs_manager = background.manager(settings)
    server.extensions["background_manager"] = jobs_manager
    app = dash.Dash(
        __name__,
        server=server,
        url_base_pathname="/",
        assets_folder=str(PROJECT_ROOT / "assets"),
        external_stylesheets=STYLESHEETS,
        title="CustomerScope",
        update_title=None,
        suppress_callback_exceptions=True,
        serve_locally=True,
        background_callback_manager=jobs_manager,
    )
    app.index_string = INDEX
    app.layout = serve_layout
    callbacks.register_all(app, RequestContext(), background.JobEnvironment.from_settings(settings))
    # Dash registers its script bundles lazily on the first request; in a threaded worker,
    # concurrent first requests can see an empty registry and fail (plotly/dash#3971).
    # Doing the setup here, in every worker before it serves, closes that gap.
    with server.test_request_context():
        app._setup_server()
    server.extensions["dash_app"] = app
    return app
