"""A small driver for headless Chromium over the DevTools protocol, to type keys in tests.

Chromium starts with ``--remote-debugging-port=0`` and writes the port it
chose into ``DevToolsActivePort`` in its profile folder; the page target's
websocket then takes protocol commands (navigate, evaluate, key events,
screenshots). Started with the flags of tests/browser.py, Chromium resolves no
names and sends every non-loopback request to a dead proxy: nothing leaves the machine.
"""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import time
from pathlib import Path
from typing import Any, Self

import httpx
from browser import DEAD_PROXY, HEADLESS
from websockets.sync.client import ClientConnection, connect

WAIT = 30.0  # seconds before a wait gives up: a guard against hanging, never a measurement
# windowsVirtualKeyCode and DOM code of the keys that are not characters.
SPECIAL = {"Enter": (13, "Enter"), "Escape": (27, "Escape"), "Tab": (9, "Tab")}


class Chromium:
    """One headless Chromium with one page, driven over its DevTools websocket."""

    def __init__(self, executable: str, profile: Path, width: int = 900, height: int = 1100):
        profile.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                executable,
                *HEADLESS,
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                DEAD_PROXY,
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        try:
            self.ws = self._attach(profile / "DevToolsActivePort")
            self.call("Page.enable")
            self.call("Runtime.enable")
        except BaseException:
            self.close()
            raise

    def _attach(self, port_file: Path) -> ClientConnection:
        deadline = time.monotonic() + WAIT
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=WAIT).json()
        page = next(t for t in targets if t["type"] == "page")
        # Entered at once (closed in close()): websockets wants its connections entered.
        return connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=WAIT).__enter__()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    # -- the protocol ------------------------------------------------------------------
    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        number = next(self._ids)
        self.ws.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=WAIT))
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})
            self.events.append(message)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event (of the page a redirect ends on)."""
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + WAIT
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load")
            self.events.append(json.loads(self.ws.recv(timeout=WAIT)))

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str) -> Any:
        """Poll ``expression`` until it is truthy; its value."""
        deadline = time.monotonic() + WAIT
        while not (value := self.js(expression)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"never true: {expression}")
            time.sleep(0.05)
        return value

    # -- the keyboard ---------------------------------------------------------------------
    def press(self, key: str, *, ctrl: bool = False) -> None:
        """One key press (down and up), as a person's keyboard sends it."""
        modifiers = 2 if ctrl else 0
        if key in SPECIAL:
            code, dom = SPECIAL[key]
            down: dict[str, Any] = {"type": "rawKeyDown", "windowsVirtualKeyCode": code}
            event = {"key": key, "code": dom, "modifiers": modifiers}
        else:
            # Letters, digits and space share their code with the key; punctuation would
            # collide with control keys (46, ".", is Delete), so it goes by its text alone.
            code = ord(key.upper()) if key.isascii() and (key.isalnum() or key == " ") else 0
            down = {"type": "keyDown", "windowsVirtualKeyCode": code}
            if not ctrl:
                down["text"] = key
            dom = f"Key{key.upper()}" if key.isalpha() else ""
            event = {"key": key, "code": dom, "modifiers": modifiers}
        self.call("Input.dispatchKeyEvent", **down, **event)
        self.call("Input.dispatchKeyEvent", type="keyUp", windowsVirtualKeyCode=code, **event)

    def type(self, text: str) -> int:
        """Type ``text`` key by key; returns how many keys were pressed."""
        for char in text:
            self.press(char)
        return len(text)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
