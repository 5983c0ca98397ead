"""Open a report in headless Chromium, save a screenshot and count console errors.

Usage::

    python tests/report_screenshot.py report.html screenshot.png [--height 1400]

Uses Debian's ``chromium`` (``apt-get install chromium``); prints
``console errors: N`` and exits with 1 when the page logged any error or no
screenshot was written. No network is needed: the page is a local file and
must not load anything.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: what Chromium prints on stderr for a console message of level error, or a failed load
ERROR_PATTERNS = (r"CONSOLE\(\d+\).*(error|Uncaught)", r"Uncaught ", r"net::ERR_",
                  r"Failed to load resource")


#: what to say when no browser is found
NO_BROWSER = "chromium is not installed (apt-get install chromium)"


def find_browser() -> str | None:
    """The path of Chromium (Debian's ``chromium`` or ``chromium-browser``), or ``None``."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, out: Path, width: int = 1200, height: int = 1400) -> int:
    """Render ``page`` into ``out``; return the number of console errors."""
    browser = find_browser()
    if browser is None:
        raise SystemExit(NO_BROWSER)
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             f"--window-size={width},{height}", f"--screenshot={out}",
             page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
    log = result.stdout + result.stderr
    return sum(1 for line in log.splitlines()
               if any(re.search(pattern, line) for pattern in ERROR_PATTERNS))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--height", type=int, default=1400)
    args = parser.parse_args()
    errors = screenshot(args.page, args.out, height=args.height)
    print(f"console errors: {errors}")
    return 0 if errors == 0 and args.out.exists() else 1


if __name__ == "__main__":
    sys.exit(main())
