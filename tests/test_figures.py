"""The figure pipeline applies the product template of the active theme."""
import plotly.graph_objects as go

from layouts.figures import COLORWAY, themed


def test_dark_and_light_templates_differ():
    dark = go.Figure(themed(go.Figure(go.Bar(x=[1], y=[2])), "dark"))
    light = go.Figure(themed(go.Figure(go.Bar(x=[1], y=[2])), "light"))
    assert dark.layout.template.layout.font.color != light.layout.template.layout.font.color
    assert list(dark.layout.template.layout.colorway) == COLORWAY
    assert list(dark.data[0].y) == [2]


def test_unknown_theme_falls_back_to_light():
    assert themed(go.Figure(), "neon")["layout"]["template"] == themed(go.Figure(), "light")["layout"]["template"]


def test_themed_figures_do_not_share_their_layout():
    first, second = themed(go.Figure(), "dark"), themed(go.Figure(), "dark")
    first["layout"]["title"] = "changed"
    assert "title" not in second["layout"]
