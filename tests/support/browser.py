"""A small selenium driver for Label Studio 1.23's web UI: what an annotator sees.

It drives Debian's headless ``chromium`` through Debian's ``chromedriver`` (``make test`` installs both); the
driver's path is always given explicitly, so selenium-manager never looks for, or downloads, a browser or driver.
Selenium itself is imported lazily: a missing package is reported by :func:`chromium_available` (and by
:class:`AnnotatorBrowser`) instead of breaking the collection of the whole suite.

DOM facts (Label Studio 1.23.2), found by driving the real UI:

* login form: ``/user/login/``, ``#email``, ``#password``, ``#login-form button[type=submit]``; a refused login
  stays on that page with ``#login-form p.error``.
* Data Manager: ``/projects/<id>/data`` (``?tab=<view id>``); its toolbar has the button "Label All Tasks"
  ("Label N Tasks" with a selection), which leads to ``/projects/<id>/data?tab=<view>&labeling=1``. The label
  stream's URL carries no ``task=`` (only a task opened from the table does). Pitfall: loading that URL directly
  (as the project card's "Label" link does) is not the same stream: its next-task request
  (``POST /api/dm/actions?id=next_task``) carries the view's filters/ordering/selection, even empty, and Label
  Studio then serves tasks in Data Manager (id) order, not by the project's sampling; the button's request carries
  none of them, so the project's sampling (e.g. uncertainty) applies.
* the labelling view: the task id is the first text node of ``.lsf-current-task__task-id`` (drawn as "#4" at the
  bottom left; its child ``.lsf-current-task__task-count`` says "1 of 1"); a ``<Text>`` tag is
  ``.lsf-richtext .lsf-richtext__container`` (one ``.lsf-richtext__line`` span per line); a ``<Choices>`` tag is
  ``.lsf-choices``, each ``<Choice>`` an ``input.ant-checkbox-input`` whose ``name`` is the choice's value and whose
  ``checked`` property is true when it is selected -- a prediction of the project's ``model_version`` is pre-filled
  this way when the project shows predictions (``show_collab_predictions``, on by default). An exhausted stream
  says "All tasks in the queue have been completed".
* Submit: ``button[aria-label="Submit current annotation"]``. A refused submit shows a toast
  (``[class*=toast_error]``, "Annotation is not saved, please try again ...") and keeps the task open; a saved one
  makes the stream show its next task about 0.2-0.5 s later.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

DEFAULT_TIMEOUT_S = 30.0
POLL_S = 0.1
WINDOW = (1400, 1000)
CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMEDRIVER_NAMES = ("chromedriver",)
NO_MORE_TASKS = "All tasks in the queue have been completed"
SUBMIT = "button[aria-label='Submit current annotation']"
ERROR_TOAST = "[class*=toast_error]"

# One snapshot of the labelling view, read in the page in a single round trip.
_SHOWN_TASK_JS = """
const idEl = document.querySelector('.lsf-current-task__task-id');
let taskId = null;
if (idEl) {
  for (const node of idEl.childNodes) {
    if (node.nodeType === Node.TEXT_NODE && node.textContent.trim()) { taskId = node.textContent.trim(); break; }
  }
}
const view = document.querySelector('.lsf-main-view__annotation');
const texts = view ? Array.from(view.querySelectorAll('.lsf-richtext .lsf-richtext__container')) : [];
const boxes = '.lsf-choices input[type=checkbox], .lsf-choices input[type=radio]';
const inputs = view ? Array.from(view.querySelectorAll(boxes)) : [];
return {
  taskId: taskId,
  texts: texts.map(el => el.textContent),
  choices: inputs.map(el => [el.name || el.value, el.checked]),
  done: document.body ? document.body.innerText.includes(arguments[0]) : false,
};
"""


def _find(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None)
        if found:
            return found
    return None


def find_chromium() -> str | None:
    """The chromium binary on PATH or in /usr/bin."""
    return _find(CHROMIUM_NAMES)


def find_chromedriver() -> str | None:
    """The chromedriver binary on PATH or in /usr/bin."""
    return _find(CHROMEDRIVER_NAMES)


def chromium_available() -> str | None:
    """``None`` when a browser test can run here, else why not (for an assertion message: tests fail, not skip)."""
    missing = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[test]')")
    if find_chromium() is None:
        missing.append("chromium (apt-get install chromium)")
    if find_chromedriver() is None:
        missing.append("chromedriver (apt-get install chromium-driver)")
    if not missing:
        return None
    return (
        "cannot drive a browser, missing: "
        + ", ".join(missing)
        + "; `make browser` (part of `make test`) installs them"
    )


@dataclass(frozen=True)
class ShownTask:
    """The task the labelling view shows: its id, the text of its Text tag(s), the choices shown selected."""

    task_id: int
    text: str
    checked: list[str]
    choices: list[str] = field(default_factory=list)  # every choice value shown, selected or not
    url: str = ""


@dataclass(frozen=True)
class SubmitOutcome:
    """What a Submit did: "next" (the stream shows another task), "done" (no task left) or "refused" (an error
    toast, the task still open); seconds until then; the toast's text."""

    how: str
    seconds: float
    toast: str = ""


class BrowserTimeout(AssertionError):
    """A page did not get where it should within the timeout (the message says where it was)."""


class AnnotatorBrowser:
    """Headless chromium as an annotator uses it. A context manager: the browser is always quit on exit.

    ``failure_screenshot``: where to save a screenshot when the ``with`` block raises (the folder must be writable).
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT_S, failure_screenshot: str | Path | None = None) -> None:
        self.timeout = timeout
        self.failure_screenshot = Path(failure_screenshot) if failure_screenshot else None
        self.driver: Any = None
        self._profile: tempfile.TemporaryDirectory | None = None

    # -- life cycle ------------------------------------------------------------------------------

    def __enter__(self):  # -> AnnotatorBrowser
        reason = chromium_available()
        if reason:
            raise RuntimeError(reason)
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self._profile = tempfile.TemporaryDirectory(prefix="textal-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = find_chromium()
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--user-data-dir={self._profile.name}",
            "--no-proxy-server",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
        ):
            options.add_argument(arg)
        # selenium -> chromedriver on localhost: never through an http(s)_proxy from the environment. Chrome() takes
        # no ClientConfig (the replacement the deprecation notice names), so use the option while it lasts.
        if hasattr(options, "ignore_local_proxy_environment_variables"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                options.ignore_local_proxy_environment_variables()
        try:
            # an explicit driver path: selenium-manager is never run, so nothing is downloaded
            self.driver = webdriver.Chrome(service=Service(executable_path=find_chromedriver()), options=options)
        except BaseException:
            self._cleanup()
            raise
        self.driver.implicitly_wait(0)
        self.driver.set_page_load_timeout(max(self.timeout, 60))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None and self.failure_screenshot and self.driver is not None:
                with contextlib.suppress(Exception):  # a failed screenshot must not hide the real error
                    self.screenshot(self.failure_screenshot)
        finally:
            self._cleanup()

    def close(self) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        driver, self.driver = self.driver, None
        try:
            if driver is not None:
                driver.quit()
        finally:
            if self._profile is not None:
                self._profile.cleanup()
                self._profile = None

    # -- waiting -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.driver.current_url

    def wait(self, condition: Callable[[Any], Any], what: str, timeout: float | None = None) -> Any:
        """``condition(driver)`` until it is truthy (returned); else :class:`BrowserTimeout` naming ``what`` and the
        URL."""
        from selenium.common import exceptions
        from selenium.webdriver.support.ui import WebDriverWait

        timeout = self.timeout if timeout is None else timeout
        waiter = WebDriverWait(
            self.driver, timeout, poll_frequency=POLL_S, ignored_exceptions=(exceptions.StaleElementReferenceException,)
        )
        try:
            return waiter.until(condition)
        except exceptions.TimeoutException:
            raise BrowserTimeout(
                f"timed out after {timeout:.0f} s waiting for {what} (at {self.url}, title {self.driver.title!r})"
            ) from None

    def _visible(self, css: str):
        from selenium.webdriver.common.by import By

        found = [el for el in self.driver.find_elements(By.CSS_SELECTOR, css) if el.is_displayed()]
        return found[0] if found else None

    # -- pages -------------------------------------------------------------------------------------

    def login(self, base_url: str, email: str, password: str) -> None:
        """Log in through Label Studio's login form; raises if the form refuses or nothing happens."""
        from selenium.webdriver.common.by import By

        base_url = base_url.rstrip("/")
        self.driver.get(f"{base_url}/user/login/")
        self.wait(lambda d: self._visible("#login-form #email"), "the login form")
        for field_id, value in (("email", email), ("password", password)):
            box = self.driver.find_element(By.ID, field_id)
            box.clear()
            box.send_keys(value)
        self.driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()

        def outcome(driver):
            if "/user/login" not in urlparse(driver.current_url).path:
                return "in"
            errors = [
                e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR, "#login-form .error") if e.text.strip()
            ]
            return ("refused: " + "; ".join(errors)) if errors else None

        result = self.wait(outcome, f"the login of {email} to leave /user/login/")
        if result != "in":
            raise AssertionError(f"Label Studio refused the login of {email}: {result} (at {self.url})")

    def open_data_manager(self, base_url: str, project_id: int, view_id: int | None = None) -> None:
        """The project's Data Manager (a given view/tab, else the default one), waited for until it can label."""
        url = f"{base_url.rstrip('/')}/projects/{project_id}/data"
        self.driver.get(url if view_id is None else f"{url}?tab={view_id}")
        self._label_button(click=False)

    def _label_button(self, click: bool) -> None:
        from selenium.common.exceptions import ElementClickInterceptedException
        from selenium.webdriver.common.by import By

        xpath = "//button[starts-with(normalize-space(.), 'Label ') and contains(normalize-space(.), 'Task')]"

        def ready(driver):
            if "/user/login" in urlparse(driver.current_url).path:
                raise AssertionError(f"not logged in: Label Studio sent the browser to {driver.current_url}")
            for button in driver.find_elements(By.XPATH, xpath):
                if button.is_displayed() and button.is_enabled():
                    if click:
                        try:
                            button.click()
                        except ElementClickInterceptedException:  # an overlay still fading out: try again
                            return None
                    return True
            return None

        self.wait(ready, "the Data Manager's 'Label All Tasks' button" + (" to be clicked" if click else ""))

    def open_label_stream(self, base_url: str, project_id: int, via_button: bool = True) -> ShownTask:
        """Start labelling as an annotator does and return the task shown, once it is rendered.

        ``via_button``: open the Data Manager and click "Label All Tasks" (the default), which asks for the next task
        with no Data Manager state, so Label Studio picks it by the project's sampling (uncertainty: the lowest
        prediction score of the project's ``model_version``). Else go straight to ``/projects/<id>/data?labeling=1``
        (the URL the button leads to, and the project card's "Label" link): Label Studio 1.23.2 then sends the view's
        filters/ordering/selection along, even empty, and serves the "Data manager queue" (task id order) instead.
        """
        if via_button:
            self.open_data_manager(base_url, project_id)
            self._label_button(click=True)
        else:
            self.driver.get(f"{base_url.rstrip('/')}/projects/{project_id}/data?labeling=1")
        self.wait(lambda d: "labeling=1" in d.current_url, "the label stream's URL (labeling=1)")
        return self.shown_task()

    def shown_task(self) -> ShownTask:
        """The task the labelling view shows, waited for until it is rendered and stays the same for a moment."""
        last: list[Any] = [None]

        def rendered(driver):
            snap = driver.execute_script(_SHOWN_TASK_JS, NO_MORE_TASKS)
            if snap["done"] and not snap["taskId"]:
                raise AssertionError(f"the label stream shows no task: {NO_MORE_TASKS!r} (at {driver.current_url})")
            url_task = parse_qs(urlparse(driver.current_url).query).get("task", [None])[0]
            if not (snap["taskId"] and snap["taskId"].isdigit() and snap["texts"] and snap["choices"]):
                last[0] = None
                return None
            if url_task is not None and url_task != snap["taskId"]:  # switching tasks: the URL and the view disagree
                last[0] = None
                return None
            # the annotation (a prediction pre-filled into it) is built after the task renders: wait for two equal reads
            stable = snap == last[0]
            last[0] = snap
            return snap if stable else None

        snap = self.wait(rendered, "a task to be rendered in the labelling view (task id, Text and Choices)")
        return ShownTask(
            task_id=int(snap["taskId"]),
            text="\n".join(t.strip() for t in snap["texts"]),
            checked=[value for value, on in snap["choices"] if on],
            choices=[value for value, _ in snap["choices"]],
            url=self.url,
        )

    def choose(self, label: str) -> None:
        """Make ``label`` the only choice selected, clicking as an annotator would (nothing if it is already so)."""
        from selenium.webdriver.common.by import By

        clicked = [0.0]

        def chosen(driver):
            boxes = driver.find_elements(By.CSS_SELECTOR, ".lsf-main-view__annotation .lsf-choices input")
            wrong = [
                b for b in boxes if ((b.get_attribute("name") or b.get_attribute("value")) == label) != b.is_selected()
            ]
            if boxes and not wrong:
                return True
            if wrong and time.monotonic() - clicked[0] > 0.5:  # one click at a time: let the page draw it first
                wrong[0].find_element(By.XPATH, "./ancestor::label[1]").click()
                clicked[0] = time.monotonic()
            return None

        self.wait(chosen, f"the choice {label!r} to be the only one selected")

    def submit(self, task_id: int) -> SubmitOutcome:
        """Click Submit on the shown task ``task_id`` and wait until the stream moves on or refuses (an error toast)."""
        from selenium.webdriver.common.by import By

        started = time.monotonic()
        self.driver.find_element(By.CSS_SELECTOR, SUBMIT).click()

        def moved(driver):
            if self._visible(ERROR_TOAST) is not None:
                return "refused"
            snap = driver.execute_script(_SHOWN_TASK_JS, NO_MORE_TASKS)
            if snap["done"] and not snap["taskId"]:
                return "done"
            if snap["taskId"] and snap["taskId"] != str(task_id) and snap["texts"] and snap["choices"]:
                return "next"
            return None

        how = self.wait(moved, f"the stream to move on from task {task_id} after Submit")
        toast = self._visible(ERROR_TOAST)
        return SubmitOutcome(how, time.monotonic() - started, toast.text if toast is not None else "")

    def screenshot(self, path: str | Path) -> Path:
        """Save a PNG of the window; returns its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.driver.save_screenshot(str(path)):
            raise RuntimeError(f"chromium could not save a screenshot to {path} (at {self.url})")
        return path
