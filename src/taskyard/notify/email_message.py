"""A notice as an email: a plain-text part and an HTML part, headers that cannot be
injected into.

Task text reaches headers only through :func:`one_line` (every control character,
CR and LF included, becomes a space) and addresses only once :func:`address` accepted
them; the HTML part escapes every piece of task text and links only the task's own
http(s) URLs.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from taskyard.notify.base import Notice
from taskyard.notify.facts import facts, is_web

SUBJECT_CHARS = 200
BODY_CHARS = 20_000
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
ID_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def one_line(text: str, limit: int = SUBJECT_CHARS) -> str:
    """``text`` with control characters and runs of spaces made one space, cut to ``limit``."""
    line = " ".join(CONTROL.sub(" ", text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def address(text: str) -> Address:
    """A bare address (``someone@example.com``); ``ValueError`` saying what is wrong."""
    if len(text) > 254 or CONTROL.search(text) or " " in text:
        raise ValueError(f"{text[:80]!r} is not an email address.")
    try:
        parsed = Address(addr_spec=text)
    except (HeaderParseError, ValueError, IndexError) as exc:
        raise ValueError(f"{text[:80]!r} is not an email address.") from exc
    if parsed.addr_spec != text or not parsed.username or not parsed.domain:
        raise ValueError(f"{text[:80]!r} is not an email address: write it as name@domain.")
    return parsed


def sender(text: str) -> Address:
    """The ``From`` of TASKYARD_SMTP_FROM (``name <address>`` or an address)."""
    wrong = "Set TASKYARD_SMTP_FROM to one address, e.g. `taskyard <taskyard@example.com>`."
    if not text or CONTROL.search(text):
        raise ValueError(wrong)
    try:
        header = policy.default.header_factory("From", text)
    except (HeaderParseError, ValueError, IndexError) as exc:
        raise ValueError(wrong) from exc
    if header.defects or len(header.addresses) != 1:
        raise ValueError(wrong)
    [found] = header.addresses
    address(found.addr_spec)
    return Address(display_name=one_line(found.display_name, 100), addr_spec=found.addr_spec)


def _message_id(value: str, domain: str) -> str:
    """A Message-ID made from one of taskyard's own ids, the same on every retry."""
    local = ID_CHARS.sub("-", value)[:100].strip("-.")
    return f"<{local}@{domain}>" if local else make_msgid(domain=domain)


def compose(notice: Notice, origin: Address, to: Address) -> EmailMessage:
    """The email for ``notice``, from ``origin`` to ``to``."""
    message = EmailMessage()
    message["Subject"] = one_line(notice.subject) or "taskyard notification"
    message["From"] = origin
    message["To"] = to
    moment = notice.occurred_at
    message["Date"] = format_datetime(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    message["Message-ID"] = _message_id(notice.id, origin.domain)
    if notice.thread:  # mail readers keep one task's notices together
        thread = _message_id(f"thread-{notice.thread}", origin.domain)
        message["References"] = thread
        message["In-Reply-To"] = thread
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies back
    message.set_content(plain(notice))
    message.add_alternative(rich(notice), subtype="html")
    return message


def _links(notice: Notice) -> list[tuple[str, str]]:
    found = [("Open the task", notice.url), ("Pull request", facts(notice).pull_request)]
    return [(label, url) for label, url in found if is_web(url)]


def plain(notice: Notice) -> str:
    lines = [one_line(notice.subject), "", notice.text[:BODY_CHARS].strip(), ""]
    lines += [f"{label}: {url}" for label, url in _links(notice)]
    return "\n".join(lines).strip() + "\n"


def rich(notice: Notice) -> str:
    shown = facts(notice)
    heading = html.escape(shown.title)
    if shown.key:
        heading = f"<strong>{html.escape(shown.key)}</strong> {heading}"
    body = "<br>\n".join(html.escape(line) for line in notice.text[:BODY_CHARS].splitlines())
    links = " · ".join(
        f'<a href="{html.escape(url)}">{html.escape(label)}</a>' for label, url in _links(notice)
    )
    return (
        '<!doctype html>\n<html><body style="font-family: sans-serif; line-height: 1.4">\n'
        f"<p>{heading}</p>\n<p>{body}</p>\n<p>{links}</p>\n</body></html>\n"
    )
