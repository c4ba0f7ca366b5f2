"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe):
the browser reads JSON commands on its fd 3 and writes answers and events on fd 4, each
message ended by a NUL byte. Only the Python standard library is needed (no websocket client,
no npm), and nothing listens on a port.

Every wait is bounded and raises BrowserError saying what it waited for and what it last saw.
"""

import base64
import fcntl
import json
import os
import subprocess
import time


class BrowserError(Exception):
    pass


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe", "--window-size=1280,1000", "--hide-scrollbars"]


class Browser:
    """One Chromium with one page (a tab) attached in flat mode."""

    def __init__(self, chromium, profile_dir, log_path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def give_fds():  # in the child: the pipe ends become fds 3 and 4
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [chromium] + FLAGS + ["--user-data-dir=" + profile_dir, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            preexec_fn=give_fds, pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout_s=5)
        except BrowserError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._log.close()

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise BrowserError("Chromium sent nothing in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise BrowserError("Chromium closed its pipe (exit code %s)" % self.process.poll())
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=True, timeout_s=30):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") != self._next_id:
                continue  # an event; the test polls the page instead
            if "error" in answer:
                raise BrowserError("%s failed: %s" % (method, answer["error"]))
            return answer.get("result", {})

    def eval(self, expression):
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError("%s threw: %s" % (expression, result["exceptionDetails"]))
        return result["result"].get("value")

    def wait_for(self, expression, what, timeout_s=30):
        """Polls `expression` until it is truthy; its last value otherwise, in the error."""
        deadline = time.monotonic() + timeout_s
        value = None
        last_error = None
        while time.monotonic() < deadline:
            try:
                value = self.eval(expression)
            except BrowserError as error:  # a page still loading, or navigating away
                value = None
                last_error = str(error)
            if value:
                return value
            time.sleep(0.1)
        page = self.eval("location.href + ' ' + (window.dashboard ? JSON.stringify(window.dashboard)"
                         " : '') + ' ' + document.body.innerText.slice(0, 600)")
        raise BrowserError("waited %d s for %s (%s); last value %r%s; page: %s" %
                           (timeout_s, what, expression, value,
                            " (it threw: %s)" % last_error if last_error else "", page))

    def goto(self, url):
        self.call("Page.navigate", {"url": url})
        self.wait_for("location.href === %s && document.readyState === 'complete'" %
                      json.dumps(url), "the page at " + url)

    def click(self, selector):
        """A real mouse click (pressed and released) at the middle of the element."""
        point = self.wait_for(
            "(() => { const e = document.querySelector(%s); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()" % json.dumps(selector),
            "an element " + selector)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": point[0], "y": point[1],
                                                   "button": "left", "clickCount": 1})

    def type_text(self, text):
        self.call("Input.insertText", {"text": text})

    def screenshot(self, path):
        metrics = self.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 5000),
                "scale": 1}
        shot = self.call("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                    "captureBeyondViewport": True})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
