"""The browser harness (`cdp`) sees what the UI's browser tests rely on it to see, on a page made to show
each: a blocked inline script is a CSP violation, a form's POST and its 303 are one navigation, a DOM
change is waited for without a reload, an alert() is answered and counted, a missing element says so.
Without this, `page.problems == []` could pass because nothing was recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cdp import Browser, JsError

pytestmark = pytest.mark.browser

CSP = {"Content-Security-Policy": "default-src 'none'; form-action 'self'"}
HOME = """<!doctype html><title>t</title><main data-phase="Running">running</main>
<form method="post" action="/act"><input type="hidden" name="token" value="t0k"><button>Act</button></form>"""


async def home(request: web.Request) -> web.Response:
    script = "<script>window.ran = 1</script>" if "script" in request.query else ""
    return web.Response(text=HOME + script, content_type="text/html", headers=CSP)


async def act(request: web.Request) -> web.Response:
    token = (await request.post())["token"]
    assert isinstance(token, str)
    raise web.HTTPSeeOther(f"/?token={token}&site={request.headers.get('Sec-Fetch-Site')}")


@pytest.fixture
async def site() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/", home)
    app.router.add_post("/act", act)
    server = TestServer(app)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_the_harness_sees_violations_redirects_dom_changes_and_dialogs(site: str) -> None:
    async with Browser.launch() as browser:
        page = await browser.new_page(800, 600)
        shown = await page.goto(f"{site}/?script")
        assert (shown.status, shown.method, page.navigations) == (200, "GET", [shown])
        assert await page.evaluate("window.ran") is None  # blocked, and reported:
        assert len(page.csp_violations) == 1 and "inline script" in page.csp_violations[0]
        assert page.problems == page.csp_violations

        # A form's POST, its 303 and the GET it leads to: one navigation, as a person's click makes it.
        done = await page.click("form button")
        assert done is not None and done.method == "POST" and done.status == 200
        assert [(r.status, r.url) for r in done.redirects] == [(303, f"{site}/act")]
        assert done.url == page.url == f"{site}/?token=t0k&site=same-origin"

        # A change made after the page loaded (as the live updates make them), waited for in place.
        await page.evaluate(
            "setTimeout(() => { document.querySelector('main').dataset.phase = 'Done' }, 100)"
        )
        assert await page.wait_for("document.querySelector('main')?.dataset.phase === 'Done'") is True
        assert len(page.navigations) == 2  # no reload
        with pytest.raises(TimeoutError, match="waiting for the phase to be Failed"):
            await page.wait_for("false", timeout=0.2, what="the phase to be Failed")

        # Script that ran is a problem; an alert would block the page until answered: it is answered.
        await page.evaluate("setTimeout(() => { alert('hi'); window.answered = true }, 0)")
        assert await page.wait_for("window.answered") is True
        assert page.problems[1:] == ["[dialog error] alert: hi"]
        with pytest.raises(JsError, match="TypeError"):
            await page.evaluate("null.x")
        with pytest.raises(LookupError, match="nothing matches"):
            await page.click("#absent")
