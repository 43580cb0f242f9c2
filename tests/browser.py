"""A small headless-Chromium driver for the map tests, over the DevTools protocol.

Starts Debian's ``/usr/bin/chromium`` with no network (every request that is not ``file:``,
``data:``, ``blob:`` or ``about:`` is failed through ``Fetch.requestPaused``, and host names
resolve to nothing), records console errors, page errors, dialogs and blocked requests, and
evaluates JavaScript in the page.

Usage::

    with Chromium() as browser:
        browser.open(path)
        browser.wait_for("window.wlgeoDrawn !== undefined")
        browser.evaluate("Object.keys(window.wlgeoCounts).length")
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import websocket

CHROMIUM = os.environ.get("WLGEO_CHROMIUM", "/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-default-apps",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--window-size=1280,900",
)
_LOCAL = ("file:", "data:", "blob:", "about:")


class BrowserError(RuntimeError):
    """The browser did not start or a DevTools command failed."""


class Chromium:
    """Headless Chromium with the network blocked; one page, driven over DevTools."""

    def __init__(self, executable: str = CHROMIUM, *, timeout: float = 30.0, env: dict[str, str] | None = None) -> None:
        self.executable = executable
        self.timeout = timeout
        self.env = env  # extra environment of the browser process (e.g. an isolated FONTCONFIG_FILE)
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []
        self.requests: list[str] = []
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen | None = None
        self._ws: websocket.WebSocket | None = None
        self._profile: str | None = None
        self._session: str | None = None
        self._events: list[dict] = []

    # -- lifecycle
    def __enter__(self) -> Chromium:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        if not Path(self.executable).exists():
            raise BrowserError(f"{self.executable} missing: run scripts/setup_test_env.sh")
        self._profile = tempfile.mkdtemp(prefix="wlgeo-chromium-")
        args = [self.executable, *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-port=0", "about:blank"]
        env = {**os.environ, **self.env} if self.env else None
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise BrowserError("chromium did not start (no DevToolsActivePort)")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self._ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=self.timeout, suppress_origin=True)
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method, params in (
            ("Page.enable", {}),
            ("Runtime.enable", {}),
            ("Log.enable", {}),
            ("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}),
        ):
            self.send(method, params, session=True)

    def close(self) -> None:
        if self._ws is not None:
            try:
                self.send("Browser.close", {})
            except Exception:  # the browser may close the socket before answering
                pass
            self._ws.close()
            self._ws = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
            self._proc = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    # -- protocol
    def send(self, method: str, params: dict | None = None, *, session: bool = False) -> dict:
        """Send one command and pump events until its answer arrives."""
        assert self._ws is not None
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self._session
        self._ws.send(json.dumps(msg))
        deadline = time.monotonic() + self.timeout
        while True:
            if time.monotonic() > deadline:
                raise BrowserError(f"no answer to {method}")
            reply = json.loads(self._ws.recv())
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._on_event(reply)

    def _post(self, method: str, params: dict) -> None:
        """Send a command whose answer is not awaited (answers to unknown ids are dropped)."""
        assert self._ws is not None
        self._ws.send(json.dumps({"id": next(self._ids), "method": method, "params": params, "sessionId": self._session}))

    def _on_event(self, event: dict) -> None:
        method, params = event["method"], event.get("params", {})
        self._events.append(event)
        if method == "Fetch.requestPaused":
            url = params["request"]["url"]
            self.requests.append(url)
            if url.startswith(_LOCAL):
                self._post("Fetch.continueRequest", {"requestId": params["requestId"]})
            else:
                self.blocked.append(url)
                self._post("Fetch.failRequest", {"requestId": params["requestId"], "errorReason": "BlockedByClient"})
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.page_errors.append(details.get("exception", {}).get("description") or details.get("text", "?"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(params.get("message", ""))
            self._post("Page.handleJavaScriptDialog", {"accept": False})

    def pump(self, seconds: float) -> None:
        """Process events for ``seconds``."""
        assert self._ws is not None
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._ws.settimeout(left)
            try:
                reply = json.loads(self._ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            finally:
                self._ws.settimeout(self.timeout)
            if "method" in reply:
                self._on_event(reply)

    # -- page
    def open(self, path: str | Path, *, timeout: float | None = None) -> None:
        """Navigate to a local file and wait for its load event; resets the recorded problems."""
        for log in (self.console_errors, self.page_errors, self.dialogs, self.blocked, self.requests):
            log.clear()
        self._events.clear()
        url = Path(path).resolve().as_uri()
        self.send("Page.navigate", {"url": url}, session=True)
        deadline = time.monotonic() + (timeout or self.timeout)
        while not any(e["method"] == "Page.loadEventFired" for e in self._events):
            if time.monotonic() > deadline:
                raise BrowserError(f"{url} did not load")
            self.pump(0.05)

    def evaluate(self, expression: str) -> Any:
        """Evaluate ``expression`` in the page (promises awaited) and return its JSON value."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=True,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, *, timeout: float | None = None) -> Any:
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression}")
            self.pump(0.05)

    def screenshot(self, path: str | Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)
