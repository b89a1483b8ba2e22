"""Templates written to take the server down: alias bombs, deep YAML, regexes that backtrack."""

from __future__ import annotations

import threading

import httpx
import pytest

YAML = {"Content-Type": "application/yaml"}

# 517 bytes that a plain YAML loader expands to 10^9 strings (the "billion laughs").
ALIAS_BOMB = """\
name: bomb
parameters:
  - name: p
    default:
      a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]
      b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
      c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
      d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
      e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
      f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
      g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
      h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
      i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_an_alias_bomb_is_refused_while_the_server_stays_up(api: httpx.Client) -> None:
    answers: list[httpx.Response] = []
    pushing = threading.Thread(
        target=lambda: answers.append(
            api.post("/api/v1/templates", content=ALIAS_BOMB, headers=YAML)
        )
    )
    pushing.start()
    assert api.get("/healthz", timeout=5).status_code == 200
    pushing.join(timeout=10)
    assert not pushing.is_alive(), "the bomb got no answer"
    assert answers[0].status_code == 400
    assert "aliases" in answers[0].json()["error"]["message"]
    assert api.get("/healthz", timeout=5).status_code == 200
    assert api.get("/api/v1/templates").json() == []


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("a: &x [*x]\nname: self", "aliases"),
        ("name: deep\ndescription: " + "[" * 5000 + "]" * 5000, "nested deeper"),
        ("name: deep\ndescription: " + "{a: " * 40 + "1" + "}" * 40, "nested deeper"),
        ("name: nan\nlimits: {timeout_minutes: .nan}", "NaN"),
        ("name: inf\nbudget: {max_cost_usd: .inf}", "NaN and Infinity"),
        ("name: bin\ndescription: !!binary aGk=", "not allowed"),
        ('name: s\ndescription: "\\ud800"', "Unicode"),
        ('name: n\ndescription: "a\\0b"', "NUL"),
        ("name: big\nlimits: {memory_mb: 99999999999999999999999}", "64 bits"),
        ("name: big\nlimits: {memory_mb: 99999999999}", "less than or equal"),
        ("name: obj\ndescription: !!python/object:os.system ls", "not valid YAML"),
        ("name: many\nenv: {" + ", ".join(f"K{i}: v" for i in range(201)) + "}", "at most 200"),
    ],
)
def test_hostile_yaml_is_refused_clearly(api: httpx.Client, source: str, fragment: str) -> None:
    response = api.post("/api/v1/templates", content=source, headers=YAML)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]["message"]


def test_a_template_over_its_limit_is_refused_with_413(api: httpx.Client) -> None:
    source = "name: big\ndescription: " + "x" * 300_000
    response = api.post("/api/v1/templates", content=source, headers=YAML)
    assert response.status_code == 413


def test_a_template_that_is_not_utf8_is_refused(api: httpx.Client) -> None:
    response = api.post("/api/v1/templates", content=b"name: \xff\xfe", headers=YAML)
    assert response.status_code == 400 and "UTF-8" in response.json()["error"]["message"]


REGEX_TEMPLATE = """\
name: greedy
parameters:
  - name: code
    regex: "(a+)+b"
"""


def test_a_backtracking_regex_cannot_stall_the_server(api: httpx.Client) -> None:
    assert api.post("/api/v1/templates", content=REGEX_TEMPLATE, headers=YAML).status_code == 201
    task = {"title": "t", "repository": "a/b", "template": "greedy", "run": False}
    # 29 characters took Python's `re` 16 s; RE2 answers in linear time.
    bad = api.post("/api/v1/tasks", json={**task, "parameters": {"code": "a" * 29 + "c"}})
    assert bad.status_code == 400 and "must match" in bad.json()["error"]["message"]
    long = api.post("/api/v1/tasks", json={**task, "parameters": {"code": "a" * 50_000 + "c"}})
    assert long.status_code == 400
    good = api.post("/api/v1/tasks", json={**task, "parameters": {"code": "aaab"}})
    assert good.status_code == 201, good.text


@pytest.mark.parametrize("regex", ["(a)\\\\1", "(?=a)b", "a{1001}"])
def test_regexes_re2_cannot_run_are_refused_at_push(api: httpx.Client, regex: str) -> None:
    source = f'name: r\nparameters:\n  - name: p\n    regex: "{regex}"\n'
    response = api.post("/api/v1/templates", content=source, headers=YAML)
    assert response.status_code == 400 and "bad regex" in response.json()["error"]["message"]


def test_what_a_template_stores_reads_back(api: httpx.Client) -> None:
    source = "name: dated\nparameters:\n  - name: since\n    default: 2024-01-01\n"
    assert api.post("/api/v1/templates", content=source, headers=YAML).status_code == 201
    shown = api.get("/api/v1/templates/dated").json()
    assert shown["spec"]["parameters"][0]["default"] == "2024-01-01"
    assert shown["created_at"].endswith("Z")
