"""Secrets never leave through answers: no planted secret reaches a packed context or any
request the (loopback) LLM server receives, whatever is asked — including a review of a diff
that adds a key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from llm_server import Answer, llm_server  # noqa: F401  (the fixture)
from test_secrets import PLANTED_SECRETS, SECRETS_REPO, leaked_secrets

import codesift
from codesift.cli import main

QUESTIONS = (
    "stripe api key for payments", "aws access key and secret in settings",
    "database connection string password", "deploy private key", "slack webhook url",
    "how are charges sent to the payment provider", "publish the package to pypi with a token",
    "openai token used by the web api", "what does the go server read from the environment",
    "github and gitlab tokens in app config", "npm registry auth token",
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("secrets-answers") / "repo"
    shutil.copytree(SECRETS_REPO, root)
    with codesift.open_index(root, dense=False) as idx:
        idx.update()
    return root


def _cli(repo: Path, server, *args: str, input: str | None = None):
    env = {"CODESIFT_DENSE": "0", "CODESIFT_LLM_BASE_URL": server.base_url,
           "CODESIFT_LLM_MODEL": "test-model", "CODESIFT_LLM_CACHE": "0"}
    result = CliRunner().invoke(main, [*args, "--repo", str(repo)], env=env, input=input,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_secrets_are_really_in_the_files_asked_about():
    # Otherwise the test below would pass for the wrong reason.
    on_disk = "".join(p.read_text(encoding="utf-8") for p in SECRETS_REPO.rglob("*") if p.is_file())
    assert set(leaked_secrets(on_disk)) == set(PLANTED_SECRETS)


def test_no_secret_in_any_context(repo):
    with codesift.open_index(repo, dense=False) as idx:
        for question in QUESTIONS:
            context = idx.context(question, 8000, k=30)
            assert context.citations, question
            assert leaked_secrets(json.dumps(context.to_dict())) == [], question


def test_no_secret_in_any_prompt(repo, llm_server):
    for question in QUESTIONS:
        llm_server.push(Answer("An answer."))
        _cli(repo, llm_server, "ask", question, "--budget", "8000", "-k", "30")
    llm_server.push(Answer("An explanation."))
    _cli(repo, llm_server, "explain", "charge_customer")
    diff = ("--- a/src/shop/payments.py\n+++ b/src/shop/payments.py\n@@ -1,1 +1,2 @@\n"
            f" import os\n+STRIPE_KEY = \"{PLANTED_SECRETS[2]}\"\n")
    llm_server.push(Answer("A review."))
    _cli(repo, llm_server, "review", "-", input=diff)
    # A question nothing in the index supports is not sent at all (ask.py).
    assert len(llm_server.chat_requests) >= len(QUESTIONS) - 2 + 2
    for request in llm_server.chat_requests:
        assert leaked_secrets(request.raw) == []
    # The prompts did carry the files the secrets were in, redacted.
    sent = "".join(r.raw.decode() for r in llm_server.chat_requests)
    assert "[REDACTED:" in sent and "payments.py" in sent and "settings.yaml" in sent
