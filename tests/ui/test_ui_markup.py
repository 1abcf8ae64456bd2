"""Nothing from the cluster becomes markup: strings are escaped unless they are Markup, which only the
builders make."""

from __future__ import annotations

import pytest

from baton.ui.markup import Markup, element, join, render, void

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "</pre><script>fetch('//evil')</script>",
    "&lt;already escaped&gt;",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_text_content_is_escaped(value: str) -> None:
    html = element("td", None, value)
    assert "<script" not in html and "<img" not in html
    assert html.startswith("<td>") and html.endswith("</td>")


@pytest.mark.parametrize("value", HOSTILE)
def test_attribute_values_are_escaped_and_quoted(value: str) -> None:
    html = element("a", {"href": value, "title": value}, "x")
    assert html.count('"') == 4  # the two attributes' own quotes, none from the value
    assert "<script" not in html and "<img" not in html


def test_markup_passes_through_and_nested_lists_render() -> None:
    inner = element("b", None, "<i>")
    html = element("p", None, [inner, " and ", ["more", 3]])
    assert html == "<p><b>&lt;i&gt;</b> and more3</p>"
    assert isinstance(html, Markup) and render(None) == ""


def test_boolean_and_missing_attributes() -> None:
    assert element("option", {"value": "a", "selected": True, "disabled": False, "x": None}) == (
        '<option value="a" selected></option>'
    )
    assert void("input", {"name": "q"}) == '<input name="q">'
    assert join(["<", element("br")]) == "&lt;<br></br>"
