"""The whole loop in a real browser, as a person on one machine lives it: sign in, make
a task, watch it live, talk to its agent, approve its plan, comment on its diff's lines
(the comments reach the agent's next prompt), merge its local pull request. Another
organization sees none of it; a form without its CSRF token is refused."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.conftest import git
from tests.support.server import RunningServer
from tests.support.templates import scripted
from tests.web.conftest import sign_in_with_token

IMAGES = Path(__file__).parents[2] / "docs" / "images"
LIVE = 60_000  # ms: a stage's turn runs through Temporal and a real worker

# One script serves every stage; it prints what it heard, so the page shows it.
AGENT = r"""
case "$TASKYARD_STAGE" in
  plan) echo "## Plan"; echo "1. Write **hello.txt** with a greeting."
        printf 'heard: %s\n' "$(printf '%s' "$TASKYARD_PROMPT" | head -c 120 | tr '\n' ' ')" ;;
  code) printf '%s\n' "$TASKYARD_PROMPT" > "$HOME/prompt-seen"
        echo "hello from the agent" >> hello.txt
        printf 'def greet(name: str) -> str:\n    # Say hello.\n    return f"hi {name}"\n' >greet.py
        grep -h ' line ' "$HOME/prompt-seen" || echo coded ;;
  review) echo reviewed ;;
esac
"""
PARAMETERS = """\
parameters:
  - name: ai_prompt
    form: textarea
  - name: tone
    default: friendly
    form: select
    options: [friendly, formal]
"""
TEMPLATE = scripted("scripted", AGENT, PARAMETERS)


def _template(server: RunningServer) -> None:
    response = server.http.post(
        "/api/v1/templates", content=TEMPLATE, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 201, response.text


def _other_organization_sees_nothing(
    server: RunningServer, browser: Browser, key: str, pull: int
) -> None:
    created = server.http.post(
        "/api/v1/organizations", json={"slug": "rival", "admin": "rival-admin", "team": "RV"}
    )
    assert created.status_code == 201, created.text
    context = browser.new_context()
    try:
        other = context.new_page()
        sign_in_with_token(other, server.url, created.json()["token"], "/login")
        for path in (f"/tasks/{key}", f"/tasks/{key}/diff", f"/tasks/{key}/live", f"/pulls/{pull}"):
            response = other.goto(f"{server.url}{path}")
            assert response is not None and response.status == 404, path
        refused = other.request.post(f"{server.url}/pulls/{pull}/close", form={"csrf_token": "x"})
        assert refused.status in (403, 404)
    finally:
        context.close()


def test_the_whole_loop_in_a_browser(
    server: RunningServer, page: Page, browser: Browser, remote_repo: Path
) -> None:
    _template(server)
    sign_in_with_token(page, server.url, next_path="/tasks/new")
    page.get_by_label("Template").select_option("scripted")  # its parameters come in
    page.get_by_label("Title").fill("Add a greeting")
    page.get_by_label("Repository").fill(str(remote_repo))
    page.get_by_label("Description").fill("Write hello.txt")
    page.get_by_label("Instructions (ai_prompt)").fill("Greet whoever runs it.")
    page.get_by_label("Tone").select_option("formal")
    page.get_by_role("button", name="Create task").click()
    page.wait_for_url(re.compile(r"/tasks/TY-\d+$"))
    key = page.url.rsplit("/", 1)[1]
    assert server.task(key)["parameters"] == {
        "ai_prompt": "Greet whoever runs it.",
        "tone": "formal",
    }
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{key} · Add a greeting")
    page.evaluate("window.stillTheSamePage = true")

    # A form without the page's CSRF token is refused, with the session cookie or not.
    forged = page.request.post(f"{server.url}/tasks/{key}/cancel", form={"x": "1"})
    assert forged.status == 403
    timeline = page.locator("#timeline")
    # From here on, what happens arrives over the page's live stream: no reload.
    expect(timeline).to_contain_text("## Plan", timeout=LIVE)
    expect(page.get_by_role("button", name="Approve plan")).to_be_visible(timeout=LIVE)
    expect(page.locator("#head")).to_contain_text("waiting")

    page.get_by_label("Message the agent").fill("Also greet in French")
    page.get_by_role("button", name="Send message").click()
    expect(timeline).to_contain_text("admin wrote:")
    expect(timeline).to_contain_text("heard: Also greet in French", timeout=LIVE)
    expect(page.get_by_label("Message the agent")).to_have_value("")
    assert page.evaluate("window.stillTheSamePage") is True

    page.get_by_role("button", name="Approve plan").click()
    page.wait_for_load_state()
    plan = page.locator(".task-plan")  # the plan as its latest turn said it
    expect(plan).to_contain_text("Write hello.txt with a greeting.")
    expect(plan).to_contain_text("heard: Also greet in French")
    expect(plan).not_to_contain_text("heard: You are planning")
    expect(page.get_by_role("button", name="Approve review")).to_be_visible(timeout=LIVE)
    expect(page.locator("#diff")).to_contain_text("hello from the agent", timeout=LIVE)
    expect(page.locator("#head")).to_contain_text("#1 TY-1: Add a greeting")
    page.screenshot(path=str(IMAGES / "dashboard-task.png"), full_page=True)

    # Comments on the diff's lines go back as one change request...
    before = server.last_event_id(key)
    page.get_by_role("button", name="Comment on hello.txt line 1").click()
    page.get_by_label("Comment on this line").fill("Say it in French too")
    page.get_by_role("button", name="Add comment").click()
    send = page.get_by_role("button", name="Send 1 comment as a change request")
    expect(send).to_be_enabled()
    page.locator("#diff").screenshot(path=str(IMAGES / "dashboard-diff.png"))
    send.click()
    page.wait_for_load_state()
    # ...which reach the agent's next prompt, labelled with the file and line.
    expect(timeline).to_contain_text("hello.txt line 1: Say it in French too", timeout=LIVE)
    server.wait_for(key, "waiting", stage="review", after=before)
    home = server.settings.data_dir / "homes" / "1" / key
    assert "- hello.txt line 1: Say it in French too" in (home / "prompt-seen").read_text()

    # The local forge's pull request: merged from its page, the task completes.
    page.reload()
    page.locator("#head").get_by_role("link", name="#1 TY-1: Add a greeting").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("#1 TY-1: Add a greeting")
    expect(page.locator(".diff[data-path='hello.txt']")).to_contain_text("hello from the agent")
    page.get_by_role("button", name="Merge into main").click()
    expect(page.locator(".facts")).to_contain_text("merged")
    assert server.wait_for(key, "completed")["status"] == "completed"
    assert git("show", "main:hello.txt", cwd=remote_repo).count("hello from the agent") == 2
    parents = git("log", "-1", "--format=%P", "main", cwd=remote_repo).split()
    assert len(parents) == 2  # a merge commit, as a forge makes

    pull_id = int(page.url.rsplit("/", 1)[1])
    _other_organization_sees_nothing(server, browser, key, pull_id)
