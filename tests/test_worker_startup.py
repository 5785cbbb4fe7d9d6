"""A new worker has Dash's bundles registered before its first request.

Dash registers them lazily on the first request; concurrent first requests in a threaded
worker could then see an empty registry and fail with 500 (plotly/dash#3971).
"""


def test_bundles_are_registered_before_any_request(app):
    registered = app.extensions["dash_app"].registered_paths
    assert "dash" in registered and any("react@" in path for path in registered["dash"])
