"""Opens every page of the built site in headless Chromium and checks that it works.

    python docs/_tools/check_site.py [SITE_DIR] [--screenshots DIR]

For each HTML page (served over HTTP from SITE_DIR, default build/site): it loads with
status 200, the browser reports no JavaScript error and no failed request (the site
must need no network), it has a title heading, and every image has loaded and has a
size (a broken picture has naturalWidth 0). Screenshots of the tutorial pages go to
--screenshots for a human to look at. Exit status 1 lists every problem.

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


def check(site: Path, screenshots: Path | None) -> list[str]:
    """Every problem found on every page of the site (empty when all is well)."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if chromium is None:
        return ["no Chromium found (apt install chromium, or set CHROMIUM)"]
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    problems: list[str] = []
    images = 0
    server, base = _serve(site)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(f"JavaScript error: {e}"))
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}")
                    if m.type == "error" else None)
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            for rel in pages:
                if rel == "404.html":
                    continue
                errors.clear()
                response = page.goto(base + rel, wait_until="load")
                page.wait_for_load_state("networkidle")
                if response is None or response.status != 200:
                    errors.append(f"status {response.status if response else None}")
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
    print(f"checked {len(pages)} pages and {images} images in Chromium")
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
