"""Secrets never leave: a fixture repository with fake secrets of many kinds is indexed the
default way, and no planted value (nor a long piece of one) is found in any file of the index,
in search snippets or in status, while status counts what was redacted, by kind and by file.

Other tests (contexts, prompts) reuse `PLANTED_SECRETS`, `leaked_secrets` and `SECRETS_REPO`.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import codesift
from codesift.ingest.secrets import Finding, Redacted, redact

SECRETS_REPO = Path(__file__).parent / "fixtures" / "secrets_repo"


def _pem_body(path: str) -> list[str]:
    text = (SECRETS_REPO / path).read_text(encoding="utf-8")
    if path.endswith(".json"):
        text = json.loads(text)["private_key"]
    body = text.split("PRIVATE KEY-----", 1)[1].rsplit("-----END", 1)[0]
    return [line for line in body.split("\n") if line]


# Every fake secret in the fixture repository: (file, the kind the redactor names, value).
PLANTED: tuple[tuple[str, str, str], ...] = (
    (".env", "Basic Auth Credentials", "VhbOrz-UQ04OM-qv8tDQ"),
    (".env", "Secret Keyword", "pgYA7h-2dHztB-XJpOl9"),
    (".env", "Stripe Access Key", "sk_live_gaKepQQrFCLiq92BT4AOywTI"),
    (".env", "Slack Token", "xoxb-992274773495-3713902176770-siqtay8cvg0ekovjl07z48hm"),
    (".env", "Base64 High Entropy String", "2k3M2D92pZrL+swkKLy3IcGLCYy/Or2hTB1HMHSr"),
    ("config/settings.yaml", "Secret Keyword", "SPKV8Z-qFdRBR-KIg8kU"),
    ("config/settings.yaml", "AWS Access Key", "AKIA1975HPOLVISB25CT"),
    ("config/settings.yaml", "AWS Access Key", "BwmDwe1tHBNG/oLrM/4m76ARO55EF8WX9+WfRRb7"),
    ("config/settings.yaml", "Google API Key", "AIza3sZGg8PNnAI-QaPce1Edjvx8ryeyUS6nl3n"),
    ("config/settings.yaml", "Slack Token",
     "https://hooks.slack.com/services/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"),
    ("config/settings.yaml", "Hex High Entropy String", "fd9088862881e8472d96b46edb48de27"),
    ("config/app.toml", "Secret Keyword", "lvAZxd-C9jTl8-AIwEl1"),
    ("config/app.toml", "GitHub Token", "ghp_mTeewbnE5yUY6In0S2OX1Q3HqpdVV9RJnyJ8"),
    ("config/app.toml", "GitLab Token", "glpat-b335elQsqfYM89I1z7dD"),
    ("config/appsettings.json", "Connection String Password", "LbRxxZ-RZ0DgE-nMNtWa"),
    ("config/appsettings.json", "Azure Storage Account access key",
     "/0GB+GxZvOs7YzNCmzTrX4mgJt5SZzWrNwMlp+vEEMcVDCCgDK5p7Gd8HVCphRZplr7J4YfOye3h03lkDEeBzR=="),
    (".npmrc", "NPM tokens", "npm_qK2kbBBsjurjsUtyOpHBCu5ILi0GAtbfFEGX"),
    *(("deploy/deploy_key.pem", "Private Key", line)
      for line in _pem_body("deploy/deploy_key.pem")),
    *(("deploy/service-account.json", "Private Key", line)
      for line in _pem_body("deploy/service-account.json")),
    ("src/shop/payments.py", "SendGrid API Key",
     "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"),
    ("src/shop/payments.py", "Twilio API Key", "SKsrc8cqbeze40rci51agfv97kw50nphpr"),
    ("src/shop/payments.py", "JSON Web Token",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtcmVwb3J0aW5nIiwibmFtZSI6IkZpeHR1cmUg"
     "U2VydmljZSIsImlhdCI6MTcxNzcxODQwMH0.hYxjidC8HCcnBTKe805DiWllfoyTsNOwxE-hAwdCV9M"),
    ("src/shop/payments.py", "Secret Keyword", "RPUM0q-aCiPfb-P3KZc1"),
    ("web/api.js", "OpenAI Token", "sk-proj-7ectQHfUj9aYV0EaSYkJT3BlbkFJ9ntIYgbU1qKwrBN58kx5"),
    ("web/api.js", "Secret Keyword", "UmiyGx-eNtWVj-sllfs7"),
    ("cmd/server/main.go", "Secret Keyword", "GWKUqY-gO0BOl-wfSAex"),
    ("scripts/publish.sh", "PyPI Token",
     "pypi-AgEIcHlwaS5vcmcoiwRS9ozF15k_RKame6CtaOX9om5Ap4pVi7ESdTSeJZxHpHHGkIZwldyo-Dkv3JY9ovyI6t"
     "H8s3DrPJJ"),
    ("scripts/publish.sh", "Secret Keyword", "3GPKbj-ZirDTP-tjXuXO"),
)

# The planted secret values: none may appear in an index, a context or a prompt.
PLANTED_SECRETS: tuple[str, ...] = tuple(value for _, _, value in PLANTED)


def _expected_counts() -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """What status must report, by file and by kind: one finding per planted secret, and one
    per private key block (however many lines it has)."""
    by_file: dict[str, dict[str, int]] = {}
    for path, kind, _ in dict.fromkeys((p, k, v if k != "Private Key" else "")
                                       for p, k, v in PLANTED):
        counts = by_file.setdefault(path, {})
        counts[kind] = counts.get(kind, 0) + 1
    by_kind: dict[str, int] = {}
    for counts in by_file.values():
        for kind, n in counts.items():
            by_kind[kind] = by_kind.get(kind, 0) + n
    return by_file, by_kind


EXPECTED_BY_FILE, EXPECTED_BY_KIND = _expected_counts()

_WINDOW = 10


def _fragments(secret: str) -> set[str]:
    """Lowercased pieces that betray a secret: every 10-character window, and each run of
    6+ letters and digits that looks random (digits and letters, or mixed case), since the
    lexical index stores lowercased identifier parts split at `-`, `/`, `.`."""
    pieces = {secret[i:i + _WINDOW] for i in range(max(1, len(secret) - _WINDOW + 1))}
    for run in re.findall(r"[A-Za-z0-9]{6,}", secret):
        has_digit, has_alpha = any(c.isdigit() for c in run), any(c.isalpha() for c in run)
        if (has_digit and has_alpha) or (run.lower() != run and run.upper() != run):
            pieces.add(run)
    return {p.lower() for p in pieces}


_FRAGMENTS = {secret: _fragments(secret) for secret in PLANTED_SECRETS}


def leaked_secrets(blob: str | bytes) -> list[str]:
    """The planted secrets of which `blob` holds the value or a long piece (case ignored)."""
    if isinstance(blob, str):
        blob = blob.encode("utf-8", "surrogatepass")
    low = blob.lower()
    return [secret for secret, pieces in _FRAGMENTS.items()
            if any(p.encode() in low for p in pieces)]


def index_files_leaks(index_dir: Path) -> dict[str, list[str]]:
    """Every file of an index folder (database, WAL, sidecars) read as bytes -> leaks."""
    out = {}
    for path in sorted(p for p in index_dir.rglob("*") if p.is_file()):
        found = leaked_secrets(path.read_bytes())
        if found:
            out[str(path.relative_to(index_dir))] = found
    return out


def fts_terms(db_path: Path) -> str:
    """Every term of the lexical index, decoded (FTS5 stores terms prefix-compressed)."""
    db = sqlite3.connect(db_path)
    try:
        terms = []
        for table in ("chunks_fts", "files_fts"):
            db.execute(f"CREATE VIRTUAL TABLE temp.v_{table}"
                       f" USING fts5vocab(main, '{table}', 'row')")
            terms += [r[0] for r in db.execute(f"SELECT term FROM temp.v_{table}")]
        return "\n".join(terms)
    finally:
        db.close()


def _copy_repo(tmp: Path) -> Path:
    repo = tmp / "shop"
    shutil.copytree(SECRETS_REPO, repo, ignore=shutil.ignore_patterns(".codesift"))
    return repo


# ---------------------------------------------------------------- the redactor


def test_the_leak_check_itself_finds_planted_values():
    for _, _, value in PLANTED:
        assert leaked_secrets(f"x = '{value}'") == [value]
        assert leaked_secrets(value[3:-3].upper().encode()) == [value]
    assert leaked_secrets("[REDACTED:Secret Keyword] https://example.com") == []


def test_every_planted_kind_is_found_and_no_value_survives():
    kinds = set()
    for path in sorted({p for p, _, _ in PLANTED}):
        text = (SECRETS_REPO / path).read_text(encoding="utf-8")
        assert leaked_secrets(text), f"{path}: the fixture lost its secrets"
        result = redact(text, path)
        assert isinstance(result, Redacted) and all(isinstance(f, Finding) for f in result.findings)
        assert result.text.count("\n") == text.count("\n"), path
        assert leaked_secrets(result.text) == [], path
        counts: dict[str, int] = {}
        for finding in result.findings:
            counts[finding.kind] = counts.get(finding.kind, 0) + 1
            assert "[REDACTED:" in result.text.split("\n")[finding.line - 1]
        assert counts == EXPECTED_BY_FILE[path], path
        kinds |= set(counts)
    assert len(kinds) >= 10 and kinds == set(EXPECTED_BY_KIND)


def test_the_prefilter_lets_every_keyword_line_through():
    # A line the prefilter drops is never scanned: its words must cover the keyword
    # detector's (a newer detect-secrets with more words fails here, not in production).
    from detect_secrets.plugins.keyword import DENYLIST

    from codesift.ingest.secrets import _WORDS
    for word in DENYLIST:
        assert f"|{word}|" in f"|{_WORDS.pattern}|" or word.startswith("contrase"), word


def test_lines_keep_their_numbers_and_the_rest_of_the_line():
    text = "a = 1\r\nDB_PASSWORD=pgYA7h-2dHztB-XJpOl9\r\nb = 2\r\n"
    result = redact(text, ".env")
    assert result.text == "a = 1\r\nDB_PASSWORD=[REDACTED:Secret Keyword]\r\nb = 2\r\n"
    assert result.findings == (Finding(2, "Secret Keyword"),)
    url = 'DSN = "postgres://shop:VhbOrz-UQ04OM-qv8tDQ@db.example.com:5432/shop"'
    assert redact(url, "settings.py").text == \
        'DSN = "postgres://shop:[REDACTED:Basic Auth Credentials]@db.example.com:5432/shop"'


def test_a_key_held_in_a_code_string_is_redacted_and_the_code_still_reads():
    body = _pem_body("deploy/deploy_key.pem")[:3]
    source = ('KEY = ("-----BEGIN RSA PRIVATE KEY-----\\n"\n'
              + "".join(f'       "{line}\\n"\n' for line in body)
              + '       "-----END RSA PRIVATE KEY-----\\n")\n')
    result = redact(source, "keys.py")
    assert leaked_secrets(result.text) == []
    assert result.findings == (Finding(1, "Private Key"),)
    assert result.text.split("\n")[1:4] == ['       ""'] * 3
    compile(result.text, "keys.py", "exec")  # still Python


def test_a_key_without_an_end_line_takes_only_key_material():
    body = _pem_body("deploy/deploy_key.pem")[:4]
    text = "\n".join(["-----BEGIN OPENSSH PRIVATE KEY-----", *body, "", "def after(): pass"])
    result = redact(text, "notes.txt")
    assert leaked_secrets(result.text) == []
    assert result.text.split("\n")[-1] == "def after(): pass"


def test_every_password_on_a_long_line_is_redacted():
    values = [f"pw{i}-Qx7{i}zLm9-{i}" for i in range(50)]
    line = "{" + ", ".join(f'"password{i}": "{v}"' for i, v in enumerate(values)) + "}"
    result = redact(line, "users.json")
    assert len(result.findings) == 50
    assert not any(v in result.text for v in values)


def test_references_templates_and_placeholders_are_not_secrets():
    for line, path in [('password = get_password("shop")', "a.py"),
                       ("password = os.environ['DB_PASSWORD']", "a.py"),
                       ('password: "${DB_PASSWORD}"', "a.yaml"),
                       ('password: "{{ vault_db_password }}"', "a.yaml"),
                       ("DB_PASSWORD=$DB_PASSWORD_FROM_VAULT", ".env"),
                       ('session_id: "3f2b8c1e-9a7d-4e5f-8b6c-1d2e3f4a5b6c"', "a.yaml")]:
        assert redact(line, path).findings == (), line


def test_hashes_in_code_are_not_flooded_with_redactions():
    # The entropy detectors run in config files only: in code they would redact every test
    # vector of hashlib and base64 (241 hits over the CPython stdlib).
    from conftest import STDLIB
    for rel in ("test/test_hashlib.py", "test/test_hmac.py", "test/test_base64.py"):
        path = STDLIB / rel
        if path.exists():
            text = path.read_text(encoding="utf-8")
            assert redact(text, rel).text == text, rel
    nonce = 'nonce: "fd9088862881e8472d96b46edb48de27"'
    assert redact(nonce, "app.yaml").findings == (Finding(1, "Hex High Entropy String"),)
    assert redact(nonce, "app.py").findings == ()


def test_lock_files_keep_their_hashes_but_lose_credentials():
    text = ('{"resolved": "https://ci:VhbOrz-UQ04OM-qv8tDQ@npm.example.com/a/-/a-1.0.0.tgz",\n'
            ' "integrity": "sha512-2k3M2D92pZrL+swkKLy3IcGLCYy/Or2hTB1HMHSr2k3M2D92pZrL+sw=="}\n')
    result = redact(text, "web/package-lock.json")
    assert [f.kind for f in result.findings] == ["Basic Auth Credentials"]
    assert "sha512-2k3M2D92pZrL" in result.text


def test_a_clean_file_does_not_load_the_detector_library():
    code = ("import sys; from codesift.ingest.secrets import redact; "
            "r = redact('def add(a, b):\\n    return a + b\\n', 'm.py'); "
            "print(r.findings, 'detect_secrets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "() False", out.stderr


# ---------------------------------------------------------------- the index


@pytest.fixture(scope="module")
def indexed_shop(tmp_path_factory) -> Path:
    """The fixture repository indexed the default way: dense, with the packaged model."""
    repo = _copy_repo(tmp_path_factory.mktemp("secrets"))
    with codesift.open_index(repo) as idx:
        summary = idx.update()
        assert summary.vectors_embedded > 0 and summary.files_indexed >= len(EXPECTED_BY_FILE)
    return repo


def test_no_secret_in_any_file_of_the_index(indexed_shop: Path):
    index_dir = indexed_shop / ".codesift"
    assert (index_dir / "index.db").stat().st_size > 0
    assert index_files_leaks(index_dir) == {}
    assert leaked_secrets(fts_terms(index_dir / "index.db")) == []


def test_no_secret_in_search_snippets(indexed_shop: Path):
    queries = ["password", "api key token", "private key", "connection string database",
               "charge customer payment", "slack webhook", "aws access key",
               *sorted(EXPECTED_BY_KIND), *PLANTED_SECRETS[:12]]
    snippets = []
    with codesift.open_index(indexed_shop) as idx:
        for query in queries:
            snippets += [h.snippet for h in idx.search(query, k=10)]
    assert any("[REDACTED:" in s for s in snippets)  # the redacted lines were found
    assert leaked_secrets("\n".join(snippets)) == []


def test_status_counts_redactions_by_kind_and_file(indexed_shop: Path):
    with codesift.open_index(indexed_shop) as idx:
        status = idx.status()
    assert leaked_secrets(json.dumps(status)) == []
    red = status["redactions"]
    assert red["enabled"] is True
    assert red["by_kind"] == EXPECTED_BY_KIND and len(red["by_kind"]) >= 10
    assert red["by_file"] == EXPECTED_BY_FILE
    assert red["total"] == sum(EXPECTED_BY_KIND.values())


def test_status_command_prints_kinds_and_files(indexed_shop: Path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "codesift", *args], capture_output=True,
                              text=True, timeout=300)
    plain = run("status", "--repo", str(indexed_shop))
    assert plain.returncode == 0, plain.stderr
    total = sum(EXPECTED_BY_KIND.values())
    assert f"secrets:    {total} redacted: " in plain.stdout
    assert "Private Key 2" in plain.stdout and "  .npmrc: NPM tokens 1" in plain.stdout
    data = json.loads(run("status", "--repo", str(indexed_shop), "--json").stdout)
    assert data["redactions"]["by_kind"] == EXPECTED_BY_KIND
    assert leaked_secrets(plain.stdout) == []


DISCORD_TOKEN = "Nu8jzPde0IgxLd6GncfBAepf.JBd0Kh.8oOOL8dKLzdocJ2isAjIhKtJ0Rl"


def test_re_indexing_after_edits_keeps_counts_right(tmp_path: Path):
    repo = _copy_repo(tmp_path)
    with codesift.open_index(repo) as idx:
        idx.update()
        env = repo / ".env"
        text = env.read_text().replace("DB_PASSWORD=pgYA7h-2dHztB-XJpOl9\n", "")
        env.write_text(text + f"DISCORD_BOT_TOKEN={DISCORD_TOKEN}\n")
        (repo / ".npmrc").unlink()
        summary = idx.update()
        assert summary.files_indexed == 1 and summary.files_deleted == 1
        red = idx.status()["redactions"]
    expected = {k: dict(v) for k, v in EXPECTED_BY_FILE.items() if k != ".npmrc"}
    del expected[".env"]["Secret Keyword"]
    expected[".env"]["Discord Bot Token"] = 1
    assert red["by_file"] == expected
    assert "NPM tokens" not in red["by_kind"]
    assert red["by_kind"]["Discord Bot Token"] == 1
    assert red["by_kind"]["Secret Keyword"] == EXPECTED_BY_KIND["Secret Keyword"] - 1
    db_bytes = b"".join(p.read_bytes() for p in (repo / ".codesift").rglob("*") if p.is_file())
    assert DISCORD_TOKEN[:12].lower().encode() not in db_bytes.lower()
    assert index_files_leaks(repo / ".codesift") == {}


def test_an_index_built_without_redaction_is_redacted_on_its_next_run(tmp_path: Path):
    repo = _copy_repo(tmp_path)
    with codesift.open_index(repo, dense=False, redact_secrets=False) as idx:
        idx.update()
        assert idx.status()["redactions"] == {"enabled": False, "total": 0, "by_kind": {},
                                              "by_file": {}}
    assert index_files_leaks(repo / ".codesift")  # the check sees secrets when they are there
    with codesift.open_index(repo, dense=False) as idx:
        summary = idx.update()
        assert summary.files_indexed == summary.files_seen  # every file redone, not just changes
        red = idx.status()["redactions"]
    assert red["enabled"] and red["by_kind"] == EXPECTED_BY_KIND
    # Nothing of the old rows survives: not in free pages, old FTS5 segments or the WAL.
    assert index_files_leaks(repo / ".codesift") == {}
    assert leaked_secrets(fts_terms(repo / ".codesift" / "index.db")) == []
    with codesift.open_index(repo, dense=False) as idx:
        assert idx.update().files_indexed == 0  # and the next run is incremental again
