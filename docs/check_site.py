"""Open built HTML pages in headless Chromium and check that they render.

Usage::

    python docs/check_site.py SITE_DIR PAGE [PAGE ...] [--screenshots DIR]
        [--expect-image PAGE] [--expect-text PAGE=TEXT] [--expect-math PAGE]

Each PAGE (a path relative to SITE_DIR) is loaded from a local HTTP server
on 127.0.0.1 in Debian's ``chromium``, driven through Playwright's driver
(``pip install playwright``; its own browser download is not used).  A page
fails when it does not load (HTTP status >= 400), logs an error in the
console, raises an uncaught JavaScript exception, fails to fetch one of its
resources, shows an image that did not decode (``naturalWidth == 0``), or
misses an expected image, text or typeset math.  A full-page screenshot of each page goes
to ``--screenshots``.  Exit status 0 when every page passes, 1 otherwise,
with one line per problem.
"""

import argparse
import contextlib
import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path

#: Where Debian's package installs the browser.
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def browser_path():
    """The Chromium executable (``$CHROMIUM`` or the first on ``PATH``)."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("no chromium on PATH: apt-get install chromium (or set CHROMIUM)")


@contextlib.contextmanager
def serve(root):
    """An HTTP server of ``root`` on a free port of 127.0.0.1; yields its URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], ConnectionError):   # a cancelled load
                super().handle_error(request, client_address)

    handler = functools.partial(Quiet, directory=str(root))
    server = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:          # reported by main when it is needed
    PlaywrightTimeout = TimeoutError


def check_page(browser, url, page_name, screenshots=None, expect_image=False,
               expect_text=(), expect_math=False):
    """The problems of one page, as a list of strings."""
    problems = []
    external = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    # The check runs offline: resources of other hosts (MathJax's CDN) are not
    # fetched, and are listed, not counted as failures.
    page.route(lambda u: not u.startswith(url), lambda route: (
        external.append(route.request.url), route.abort("blockedbyclient")))

    def console(msg):
        source = (msg.location or {}).get("url", "")
        if msg.type == "error" and not source.startswith(tuple(external)):
            problems.append(f"console {msg.type}: {msg.text} ({msg.location})")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"JavaScript exception: {error}"))
    # A load cancelled by a navigation (ERR_ABORTED) is no missing file: those
    # answer 404, which the response handler reports.
    page.on("requestfailed", lambda request: None if request.url in external
            or "ERR_ABORTED" in (request.failure or "") else
            problems.append(f"request failed: {request.url} ({request.failure})"))
    page.on("response", lambda response: problems.append(
        f"HTTP {response.status}: {response.url}") if response.status >= 400 else None)
    response = page.goto(url + page_name, wait_until="load", timeout=30_000)
    if response is None:
        problems.append("no response")
    page.wait_for_timeout(300)      # scripts that run after load
    if page.url != url + page_name:
        print(f"      {page_name}: the page went on to {page.url[len(url):]}")
    broken = page.evaluate("""() => Array.from(document.images)
        .filter(img => img.complete && img.naturalWidth === 0).map(img => img.src)""")
    problems += [f"image did not load: {src}" for src in broken]
    if expect_image and not page.evaluate(
            "() => Array.from(document.images).some(img => img.naturalWidth > 0)"):
        problems.append("no image rendered")
    if expect_math:
        try:       # MathJax typesets after the load, asynchronously
            page.wait_for_function("""() => document.querySelector(
                '.MathJax_SVG, .MathJax_SVG_Display, mjx-container, .MathJax')""",
                                   timeout=20_000)
        except PlaywrightTimeout:
            problems.append("no typeset math (MathJax did not render)")
    body = page.inner_text("body")
    problems += [f"text missing: {text!r}" for text in expect_text if text not in body]
    if screenshots is not None:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
        name = page_name.replace("/", "_").replace(".html", "") or "index"
        page.screenshot(path=str(Path(screenshots) / f"{name}.png"), full_page=True)
    page.close()
    for resource in dict.fromkeys(external):
        print(f"      {page_name}: not fetched offline: {resource}")
    return [f"{page_name}: {p}" for p in problems]


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("site", help="the folder of the built HTML")
    parser.add_argument("pages", nargs="+", help="pages to open, relative to the site")
    parser.add_argument("--screenshots", metavar="DIR", default=None,
                        help="write a full-page PNG of each page there")
    parser.add_argument("--expect-image", action="append", default=[], metavar="PAGE",
                        help="PAGE must show at least one image (repeatable)")
    parser.add_argument("--expect-math", action="append", default=[], metavar="PAGE",
                        help="PAGE must show typeset math (repeatable)")
    parser.add_argument("--expect-text", action="append", default=[], metavar="PAGE=TEXT",
                        help="PAGE must contain TEXT (repeatable)")
    args = parser.parse_args(argv)
    texts = {}
    for item in args.expect_text:
        page_name, _, text = item.partition("=")
        texts.setdefault(page_name, []).append(text)
    from playwright.sync_api import sync_playwright

    problems = []
    with serve(args.site) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path(),
                                             args=["--no-sandbox", "--disable-gpu"])
        for page_name in args.pages:
            found = check_page(browser, url, page_name, args.screenshots,
                               page_name in args.expect_image, texts.get(page_name, ()),
                               page_name in args.expect_math)
            print(f"{'FAIL' if found else 'ok'}  {page_name}")
            problems += found
        browser.close()
    for problem in problems:
        print(problem)
    print(f"{len(args.pages) - len({p.split(':')[0] for p in problems})} pages passed, "
          f"{len({p.split(':')[0] for p in problems})} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
