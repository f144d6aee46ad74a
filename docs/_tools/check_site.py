"""Opens every page of the built site in headless Chromium and checks that it works.

    python docs/_tools/check_site.py [SITE_DIR] [--screenshots DIR]

For each HTML page (served over HTTP from SITE_DIR, default build/site): it loads with
status 200, the browser reports no JavaScript error and no failed request (the site
must need no network), it has a title heading, every image has loaded and has a size
(a broken picture has naturalWidth 0), and no C code block has a comment delimiter
outside a comment (the tail of a comment whose ``/*`` was cut off, highlighted as
code). The 404 page is served, as a web host does, for a missing page deep in the
site: it must load its stylesheets and scripts from there too. Screenshots of the
tutorial pages go to --screenshots for a human to look at. Exit status 1 lists every problem.

Uses the playwright package with the system's Chromium (Debian's ``chromium``), so
nothing is downloaded; set CHROMIUM to another binary if needed.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path


def _serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Answers a missing page with the site's 404.html, as a web host does."""
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


# The text of a highlighted C block outside comments and strings (Pygments' classes:
# c* comments, s* strings; cp preprocessor lines are code).
_C_CODE_OUTSIDE_COMMENTS = """code => {
    const copy = code.cloneNode(true);
    copy.querySelectorAll('span[class^="c"]:not(.cp), span[class^="s"]').forEach(
        s => s.remove());
    return copy.textContent;
}"""


def check(site: Path, screenshots: Path | None) -> list[str]:
    """Every problem found on every page of the site (empty when all is well)."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if chromium is None:
        return ["no Chromium found (apt install chromium, or set CHROMIUM)"]
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    problems: list[str] = []
    images = c_blocks = 0
    server, base = _serve(site)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(f"JavaScript error: {e}"))
            # a missing file is reported by the response check below; the console's
            # "Failed to load resource" would repeat it (or be the 404 page itself)
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}")
                    if m.type == "error" and not m.text.startswith("Failed to load resource")
                    else None)
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.on("response", lambda r: errors.append(f"status {r.status}: {r.url}")
                    if r.status >= 400 and r.request.resource_type != "document" else None)
            # the 404 page at a missing address two folders deep
            for rel in [*pages, "no/such/page/"]:
                if rel == "404.html":
                    continue
                errors.clear()
                response = page.goto(base + rel, wait_until="load")
                page.wait_for_load_state("networkidle")
                expected = 404 if rel == "no/such/page/" else 200
                if response is None or response.status != expected:
                    errors.append(f"status {response.status if response else None}")
                for code in page.locator("div.language-c code").all():
                    c_blocks += 1
                    text = code.evaluate(_C_CODE_OUTSIDE_COMMENTS)
                    if "*/" in text or "/*" in text:
                        line = next(x for x in text.splitlines() if "*/" in x or "/*" in x)
                        errors.append(f"C block with a comment delimiter as code: {line.strip()}")
                if not page.locator("article h1").count():
                    errors.append("no title heading in the page")
                for img in page.locator("article img").all():
                    images += 1
                    img.scroll_into_view_if_needed()
                    ok = img.evaluate("i => i.complete && i.naturalWidth > 0")
                    if not ok:
                        errors.append(f"image does not show: {img.get_attribute('src')}")
                problems += [f"{rel}: {e}" for e in errors]
                if screenshots and rel.startswith(("tutorial/", "index.html")):
                    shot = screenshots / (rel.replace("/", "_").replace(".html", ".png"))
                    shot.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(shot), full_page=True)
            browser.close()
    finally:
        server.shutdown()
    print(f"checked {len(pages)} pages, {images} images and {c_blocks} C blocks in Chromium")
    if not c_blocks:   # the C API page alone has a dozen: the check found none to check
        problems.append("no C code block (div.language-c) found anywhere")
    return problems


def main() -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default="build/site", type=Path)
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args()
    if not (args.site / "index.html").is_file():
        print(f"{args.site} holds no built site (run mkdocs build first)")
        return 1
    problems = check(args.site, args.screenshots)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
