"""The figure pipeline applies the product template of the active theme."""
import plotly.graph_objects as go

from layouts.figures import COLORWAY, themed


def test_dark_and_light_templates_differ():
    dark = themed(go.Figure(go.Bar(x=[1], y=[2])), "dark")
    light = themed(go.Figure(go.Bar(x=[1], y=[2])), "light")
    assert dark.layout.template.layout.font.color != light.layout.template.layout.font.color
    assert list(dark.layout.template.layout.colorway) == COLORWAY


def test_unknown_theme_falls_back_to_light():
    assert themed(go.Figure(), "neon").layout.template == themed(go.Figure(), "light").layout.template
