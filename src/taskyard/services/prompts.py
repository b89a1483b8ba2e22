"""Default stage prompts; templates and workflow stages can override them.

Whose words are instructions: the task's title, description and ``ai_prompt`` were typed
by the person who asked (through the API, CLI, SDK or dashboard), and a person's
requested changes are theirs; they are the prompt. What a task's origin knows
(``origin_context``: an issue's body, an error report, anything a caller copied from
elsewhere) may have been written by anyone, so it reaches the agent as data, fenced
(:mod:`taskyard.model.fence`). A caller that copies outside text into a task puts it
in ``origin_context``, never in the description.
"""

import json

from taskyard.model.fence import Untrusted, context_section

PLAN_PROMPT = """You are planning a change to this repository; do not change any code yet.
Read the relevant code, then write a concise plan to PLAN.md at the repository root:
the goal, the files you will change and how, the risks, and how you will test it.
Finish with a one-paragraph summary of the plan."""

CODE_PROMPT = """Implement the task in this repository, following PLAN.md if it exists.
Keep the change focused, follow the project's conventions, add or update tests,
and run the project's test suite before you finish. Do not commit; taskyard commits
and opens the pull request for you. Finish with a short summary of what you changed."""

REVIEW_PROMPT = """Review the change on this branch against its base (git diff) as a careful
senior engineer would: correctness, tests, security, clarity. Fix small problems directly;
for anything larger, describe it. Finish with a summary for the person who will approve it:
what changed, what you checked, and anything that needs their attention."""

GENERIC_PROMPT = """Work on the task below in this repository. Finish with a short summary."""

QUOTED_TITLES = frozenset({"error_tracking", "support_queue", "webhook"})
DEFAULT_PROMPTS = {"plan": PLAN_PROMPT, "code": CODE_PROMPT, "review": REVIEW_PROMPT}


def stage_prompt(stage_key: str, workflow_prompt: str, template_prompts: dict[str, str]) -> str:
    """The workflow stage's own prompt, else the template's, else the built-in one."""
    return (
        workflow_prompt
        or template_prompts.get(stage_key)
        or DEFAULT_PROMPTS.get(stage_key, GENERIC_PROMPT)
    )


def compose_prompt(
    *,
    stage_prompt: str,
    title: str,
    description: str,
    instructions: str,
    origin: str,
    origin_context: dict[str, object],
    feedback: str,
) -> str:
    """The prompt of a stage's first turn: the stage's job, then the task and its context."""
    # Intake's titles were written outside (an error's, a ticket's subject): the
    # description quotes them in its fenced context, and the heading leaves them out.
    heading = "# Task" if origin in QUOTED_TITLES else f"# Task: {title}"
    parts = [stage_prompt.strip(), "", heading]
    if description.strip():
        parts += ["", description.strip()]
    if instructions.strip() and instructions.strip() != description.strip():
        parts += ["", "## Instructions", instructions.strip()]
    if origin_context:
        parts += ["", context_section(origin_items(origin, origin_context))]
    if feedback.strip():
        parts += ["", "## Requested changes", feedback.strip()]
    return "\n".join(parts).strip() + "\n"


def origin_items(origin: str, origin_context: dict[str, object]) -> list[Untrusted]:
    """Each of the origin's facts as a piece of untrusted text, labelled with its name."""
    return [
        Untrusted(
            f"{key} (from {origin})",
            value if isinstance(value, str) else json.dumps(value, ensure_ascii=False),
        )
        for key, value in origin_context.items()
    ]
