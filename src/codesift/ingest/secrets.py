"""Find secrets in a file's text by their content and replace each with a marker, so that no
key, token or password reaches the index, a context or a prompt. Line numbers never move.

Detection is Yelp's detect-secrets: its plugins are called directly (no global settings, and
never `verify`, which would send a found value over the network), only on the lines a cheap
prefilter says could hold a secret, with its own false-positive filters chosen per detector.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

# Bump when detection changes: an index redacted by another version is redone on its next run.
REDACTOR_VERSION = "1"
MAX_KEY_LINES = 200  # a private key block is never longer (an 8192-bit RSA key is ~100)


@dataclass(frozen=True, slots=True)
class Finding:
    line: int  # 1-based
    kind: str  # the detector's name: "AWS Access Key", "Private Key", "Secret Keyword", ...


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str  # the same number of lines as the input
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class _Detector:
    plugin: object
    rank: int  # which kind names a span that two detectors found: lower wins
    kind: str


_SPECIFIC, _KEYWORD, _ENTROPY = 0, 1, 2

# A line can hold a secret only if it has a secret-sounding word (the keyword detector needs
# one: these are its words), a URL with a password, a private key header, or a run of 20+
# token characters with a letter (every format-specific detector's value is one). The words
# are one regex over the lowercased text (a case-insensitive regex is four times slower: no
# first-character scan); the runs are found by bytes.translate and substring search.
_WORDS = re.compile(r"api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key"
                    r"|priv_?key|private_?key|client_?key|db_?pass|database_?pass|key_?pass"
                    r"|password|passwd|pwd|secret|contrase|authtoken|accountkey"
                    r"|://[^\s/@]*:[^\s@]*@|private key|putty-user-key-file")


def _byte_table(chars: bytes) -> bytes:
    return bytes(ord("a") if i in chars else 10 if i == 10 else 32 for i in range(256))


_RUN_TABLE = _byte_table(b"abcdefghijklmnopqrstuvwxyz0123456789+/=-")  # runs of 20+
# In config files the entropy detectors run too: a hex value of 9+ characters can pass them.
_SHORT_RUN_TABLE = _byte_table(b"abcdefghijklmnopqrstuvwxyz0123456789+/=-_")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----")
# Inside a key block: base64 lines (bare, or quoted in code with `\n` escapes, `+`, commas)
# and the armor headers of PEM, PGP and PuTTY files.
_KEY_HEADERS = r"(?:Proc-Type|DEK-Info|Comment|Version|Hash|Charset|Encryption|Public-Lines" \
    r"|Private-Lines|Private-MAC): "
_KEY_MATERIAL = re.compile(rf"(?:-----|[A-Za-z0-9+/=]|\\[nr]|{_KEY_HEADERS})+")
_KEY_BODY = re.compile(rf"""^[\s"'`+]*(?:[A-Za-z0-9+/=]+|{_KEY_HEADERS}.*)?(?:\\n)?[\s"'`+,;]*$""")
_TOKEN_TAIL = re.compile(r"[\w+/=.\-]+")
_ASSIGNED = re.compile(r"""^\s*(?:export\s+)?[\w.\-]+\s*[:=]\s*([^\s'"#][^\s#]*)\s*$""")

# Files where `PASSWORD=value` (unquoted) is an assignment: the keyword detector's config rules.
_ASSIGNMENT_FILES = re.compile(r"(^|/)(\.env(\.[\w.-]+)?|[\w.-]+\.env|\.netrc|\.pgpass"
                               r"|\.npmrc|\.pypirc)$|\.(sh|bash|zsh|ksh)$")
# Config files, where a random-looking value is most likely a credential: the entropy
# detectors run here only. In code they flood: 280 hits in the CPython 3.11 stdlib's .py files
# (test vectors of test_hashlib, test_hmac, test_base64, ...) against 31 for all the others.
_CONFIG_SUFFIXES = frozenset(".env .yaml .yml .toml .ini .cfg .conf .cnf .properties .tfvars"
                             " .netrc .pgpass .npmrc .pypirc".split())
_LOCK_FILES = frozenset({"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock",
                         "Pipfile.lock", "Cargo.lock", "Gemfile.lock", "composer.lock",
                         "go.sum", "uv.lock"})


def redact(text: str, path: str) -> Redacted:
    """`text` with every secret found replaced by `[REDACTED:<kind>]`, and where they were."""
    config = _is_config(path)
    candidates = _candidate_lines(text, config)
    if not candidates:  # most files: detect-secrets is not even imported
        return Redacted(text, ())
    profile = _profile(path, config)
    lines = text.split("\n")
    findings: list[Finding] = []
    done_until = -1  # lines up to here were taken by a private key block
    for index, has_word in candidates.items():
        if index <= done_until:
            continue
        line = lines[index]
        ending = "\r" if line.endswith("\r") else ""  # CRLF files: the CR is not a value's
        spans = _spans(line[:len(line) - len(ending)], profile, has_word)
        if not spans:
            continue
        redacted, kinds = _apply(line[:len(line) - len(ending)], spans)
        lines[index] = redacted + ending
        findings += [Finding(index + 1, kind) for kind in kinds]
        if "Private Key" in kinds:
            done_until = _redact_key_body(lines, index)
    return Redacted("\n".join(lines), tuple(findings))


@dataclass(frozen=True, slots=True)
class _Profile:
    keyword_groups: dict  # the keyword detector's regexes for this file type -> value group
    entropy: bool  # config files: random-looking quoted or assigned values count too
    lock: bool  # lock files: only format-specific detectors (integrity hashes abound)


def _is_config(path: str) -> bool:
    name = PurePosixPath(path).name
    return name not in _LOCK_FILES and (bool(_ASSIGNMENT_FILES.search(path))
                                        or PurePosixPath(name).suffix.lower() in _CONFIG_SUFFIXES)


def _profile(path: str, config: bool) -> _Profile:
    from detect_secrets.plugins import keyword
    from detect_secrets.util.filetype import determine_file_type
    if _ASSIGNMENT_FILES.search(path):
        groups = keyword.CONFIG_DENYLIST_REGEX_TO_GROUP
    else:
        groups = keyword.REGEX_BY_FILETYPE.get(determine_file_type(path),
                                               keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
    return _Profile(groups, config, PurePosixPath(path).name in _LOCK_FILES)


def _candidate_lines(text: str, short_runs: bool = False) -> dict[int, bool]:
    """0-based numbers of the lines the prefilter lets through, in order -> whether the line
    has a secret-sounding word (without one the keyword detector cannot match: not run)."""
    low = text.lower()  # may change lengths (non-ASCII), never the newlines: count in `low`
    data = low.encode("utf-8", "surrogatepass")
    runs = _token_runs(data, 9, _SHORT_RUN_TABLE) if short_runs else \
        _token_runs(data, 20, _RUN_TABLE, need_letter=True)
    out = dict.fromkeys(_line_numbers(data, runs), False)
    out.update(dict.fromkeys(_line_numbers(low, [m.start() for m in _WORDS.finditer(low)]), True))
    return dict(sorted(out.items()))


def _token_runs(data: bytes, length: int, table: bytes, need_letter: bool = False) -> list[int]:
    """Byte offsets of the runs of `length`+ token characters: one `bytes.translate` to
    'a' / ' ' / newline and substring searches, six times faster than the regex."""
    flat = data.translate(table)
    needle = b"a" * length
    out = []
    pos = flat.find(needle)  # the first hit of a run is its start
    while pos >= 0:
        ends = [i for i in (flat.find(b" ", pos), flat.find(b"\n", pos)) if i >= 0]
        end = min(ends, default=len(flat))
        # No format-specific token is all digits: numeric test data (decTest) stays out.
        if not need_letter or data[pos:end].strip(b"0123456789+/=-"):
            out.append(pos)
        pos = flat.find(needle, end)
    return out


def _line_numbers(text: str | bytes, positions: list[int]) -> Iterator[int]:
    newline = "\n" if isinstance(text, str) else b"\n"
    line = counted = 0
    for pos in positions:  # ascending
        line += text.count(newline, counted, pos)
        counted = pos
        yield line


Span = tuple[int, int, int, str]  # (start, end, rank, kind)


def _spans(line: str, profile: _Profile, has_word: bool = True) -> list[Span]:
    """Every secret value the detectors find in `line`, after detect-secrets' filters."""
    from detect_secrets.filters import heuristic as h
    spans: list[Span] = []
    indirect = None
    for det in _detectors():
        if (profile.lock and det.rank != _SPECIFIC) or (det.rank == _KEYWORD and not has_word) \
                or (det.rank == _ENTROPY and not profile.entropy):
            continue
        for start, end, value in _found(det, line, profile):
            if not value or h.is_not_alphanumeric_string(value) or h.is_templated_secret(value):
                continue
            # A format-specific match is evidence enough; guesses from names or entropy
            # get the library's false-positive filters (`secret = get_secret()`, UUIDs, ids).
            if det.rank != _SPECIFIC:
                if indirect is None:
                    indirect = h.is_indirect_reference(line)
                if indirect or h.is_sequential_string(value) or h.is_potential_uuid(value) \
                        or h.is_prefixed_with_dollar_sign(value) \
                        or h.is_likely_id_string(value, line, det.plugin):
                    continue
            spans.append((start, end, det.rank, det.kind))
    return spans


def _found(det: _Detector, line: str, profile: _Profile) -> list[tuple[int, int, str]]:
    """(start, end, value) of what one detector reports in `line`. The library yields values;
    their places come from the detector's own regexes (the value in `password = 'pass'`,
    not every `pass` on the line)."""
    plugin = det.plugin
    if det.rank == _ENTROPY:
        return _entropy_values(plugin, line)
    if det.rank == _KEYWORD:
        # The library reports the first match of each regex on a line; a minified file or a
        # one-line JSON holds many: every match counts.
        return [(*m.span(g), m.group(g)) for rx, g in profile.keyword_groups.items()
                for m in rx.finditer(line)]
    values = set(plugin.analyze_string(line))
    if not values:
        return []
    if det.kind == "Private Key":
        return [_key_span(line, value) for value in values]
    out = []
    for rx in plugin.denylist:
        for match in rx.finditer(line):
            for g in list(range(1, rx.groups + 1)) or [0]:
                if match.group(g) in values:
                    start, end = match.span(g)
                    # A value that stops inside its token (GitLab's label group `(glpat|gldt)-`,
                    # the JWT regex's lazy signature) is taken to the token's end.
                    tail = _TOKEN_TAIL.match(line, end)
                    out.append((start, tail.end() if tail else end, match.group(g)))
    # Never expected: a value that cannot be placed takes the whole line with it.
    return out or [(0, len(line), next(iter(values)))]


def _entropy_values(plugin, line: str) -> list[tuple[int, int, str]]:
    """Quoted strings, and the unquoted value of a `key: value` / `KEY=value` line, whose
    Shannon entropy is over the plugin's limit."""
    found = [(*m.span(2), m.group(2)) for m in plugin.regex.finditer(line)]
    assigned = _ASSIGNED.match(line)
    if assigned and not found:
        found.append((*assigned.span(1), assigned.group(1)))
    return [(start, end, value) for start, end, value in found
            if all(ch in plugin.charset for ch in value)
            and plugin.calculate_shannon_entropy(value) > plugin.entropy_limit]


def _key_span(line: str, header: str) -> tuple[int, int, str]:
    """A key header's span runs to the END marker on its line (a PEM in a JSON string), or
    over the key material that follows it (`\\n` escapes included), not the closing quote."""
    start = line.find(header)
    end = _KEY_END.search(line, start)
    material = _KEY_MATERIAL.match(line, start + len(header))
    stop = end.end() if end else material.end() if material else start + len(header)
    return start, stop, line[start:stop]


def _apply(line: str, spans: list[Span]) -> tuple[str, list[str]]:
    """Replace merged overlapping spans by markers; each merged span takes the kind of its most
    specific detector (an AWS key in `password = "..."` is an AWS key)."""
    spans.sort()
    merged: list[list] = []
    for start, end, rank, kind in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if rank < last[2]:
                last[2], last[3] = rank, kind
        else:
            merged.append([start, end, rank, kind])
    out, pos = [], 0
    for start, end, _, kind in merged:
        out += [line[pos:start], f"[REDACTED:{kind}]"]
        pos = end
    out.append(line[pos:])
    return "".join(out), [m[3] for m in merged]


def _redact_key_body(lines: list[str], header: int) -> int:
    """Strip the key material from the lines below a private key's header (whose own line was
    redacted from its BEGIN marker on), up to its END line; returns the last line taken.
    Only lines that look like key material are taken: code that merely tests for a
    `BEGIN PRIVATE KEY` marker keeps the lines that follow it."""
    if _KEY_END.search(lines[header]):
        return header
    last = min(len(lines) - 1, header + MAX_KEY_LINES)
    i = header + 1
    while i <= last and not _KEY_END.search(lines[i]) and _KEY_BODY.match(lines[i]):
        # Quotes, `+` and commas stay: code that held the key in a string still parses.
        lines[i] = _KEY_MATERIAL.sub("", lines[i])
        i += 1
    return i - 1


@lru_cache(maxsize=1)
def _detectors() -> tuple[_Detector, ...]:
    """The detectors in use, built once per process (importing detect-secrets costs ~0.15 s,
    paid only when some line passes the prefilter)."""
    from detect_secrets.plugins import (artifactory, aws, azure_storage_key, basic_auth,
                                        cloudant, discord, github_token, gitlab_token,
                                        high_entropy_strings,
                                        ibm_cloud_iam, ibm_cos_hmac, jwt, keyword, mailchimp,
                                        npm, openai, private_key, pypi_token, sendgrid, slack,
                                        softlayer, square_oauth, stripe, telegram_token, twilio)
    specific = [
        aws.AWSKeyDetector(), artifactory.ArtifactoryDetector(),
        azure_storage_key.AzureStorageKeyDetector(), basic_auth.BasicAuthDetector(),
        cloudant.CloudantDetector(), discord.DiscordBotTokenDetector(),
        github_token.GitHubTokenDetector(), gitlab_token.GitLabTokenDetector(),
        ibm_cloud_iam.IbmCloudIamDetector(), ibm_cos_hmac.IbmCosHmacDetector(),
        jwt.JwtTokenDetector(), mailchimp.MailchimpDetector(), npm.NpmDetector(),
        openai.OpenAIDetector(), private_key.PrivateKeyDetector(), pypi_token.PypiTokenDetector(),
        sendgrid.SendGridDetector(), slack.SlackDetector(), softlayer.SoftlayerDetector(),
        square_oauth.SquareOAuthDetector(), stripe.StripeDetector(),
        telegram_token.TelegramBotTokenDetector(), twilio.TwilioKeyDetector(),
        *_extra_detectors()]
    out = [_Detector(p, _SPECIFIC, p.secret_type) for p in specific]
    out.append(_Detector(keyword.KeywordDetector(), _KEYWORD, "Secret Keyword"))
    entropy = high_entropy_strings
    out += [_Detector(p, _ENTROPY, p.secret_type) for p in (
        entropy.Base64HighEntropyString(), entropy.HexHighEntropyString())]
    return tuple(out)


def _extra_detectors() -> list:
    """What detect-secrets 1.5 lacks, written as its plugins are: a class with a regex."""
    from detect_secrets.plugins.base import RegexBasedDetector

    class GoogleApiKeyDetector(RegexBasedDetector):
        secret_type = "Google API Key"
        denylist = (re.compile(r"AIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])"),)

    class ConnectionStringDetector(RegexBasedDetector):
        # ADO.NET / ODBC / JDBC property strings: `Server=...;User Id=...;Password=...;`, the
        # form a keyword rule misses inside a quoted string of code or JSON.
        secret_type = "Connection String Password"
        denylist = (re.compile(
            r"(?i)(?:server|data source|host|user id|uid|user|database|initial catalog)"
            r"\s*=[^;\"'\n]*;[^\"'\n]*?(?<![\w])(?:password|pwd)\s*=\s*([^;\"'\s][^;\"'\n]*)"),)

    return [GoogleApiKeyDetector(), ConnectionStringDetector()]
