"""The real app behind a real HTTP server (werkzeug, in a thread) on a free loopback port, and
Debian's chromium driven through Playwright. Browser tests skip, saying why, when
/usr/bin/chromium is missing (`./dev test` installs it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class HttpClient:
    """The slice of Flask's test client that tests/incident_story.py uses, over real HTTP, so
    the data is seeded through the webhook endpoint and the API as a sender would."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def post(
        self, path: str, data: bytes | None = None, headers: dict | None = None, json: Any = None
    ) -> _Answer:
        return _Answer(
            self.session.post(
                self.base_url + path, data=data, json=json, headers=headers, timeout=10
            )
        )

    def open(
        self, path: str, method: str, json: Any = None, headers: dict | None = None
    ) -> _Answer:
        return _Answer(
            self.session.request(
                method, self.base_url + path, json=json, headers=headers, timeout=10
            )
        )


class _Answer:
    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self._response = response

    def get_json(self) -> Any:
        return self._response.json()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http(live_server: str) -> Iterator[HttpClient]:
    client = HttpClient(live_server)
    yield client
    client.session.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests need Debian's chromium at /usr/bin/chromium "
            "(apt-get install chromium; ./dev test does it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    yield context.new_page()
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Saved for people to look at (tests/artifacts/ is gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
