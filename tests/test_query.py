"""Code-aware tokens and query analysis."""

from __future__ import annotations

import re

import pytest

from codesift.errors import BadQueryError
from codesift.retrieve.query import analyse
from codesift.store.sqlite import fts_query
from codesift.tokens import code_tokens, query_terms, symbol_keys


@pytest.mark.parametrize("text, expected", [
    ("HttpClient", ["httpclient", "http", "client"]),
    ("send_request2", ["send_request2", "send", "request", "2"]),
    ("parseHTTPHeader", ["parsehttpheader", "parse", "http", "header"]),
    ("x", ["x"]),
    ("__init__", ["init"]),
])
def test_code_tokens_split_and_keep_whole(text, expected):
    assert code_tokens(text) == expected


def test_query_terms_drop_stopwords_and_dedupe():
    assert query_terms("how do the retries of the HttpClient work") == [
        "retries", "httpclient", "http", "client", "work"]


@pytest.mark.parametrize("symbol, keys", [
    ("pkg.client.HttpClient.send", ["pkg.client.httpclient.send", "client.httpclient.send",
                                    "httpclient.send", "send"]),
    ("(*Server).Handle", ["server.handle", "handle"]),
    ("web.(*Server).Handle", ["web.server.handle", "server.handle", "handle"]),
    ("a::Foo::bar", ["a.foo.bar", "foo.bar", "bar"]),
    ("Mod::Klass#run", ["mod.klass.run", "klass.run", "run"]),
])
def test_symbol_keys_normalise_every_language(symbol, keys):
    assert symbol_keys(symbol) == keys


def test_identifier_query_is_recognised():
    q = analyse("HttpClient.send")
    assert q.is_identifier
    assert q.symbol_keys[0] == "httpclient.send"
    assert analyse("(*Engine).ServeHTTP").symbol_keys[0] == "engine.servehttp"


def test_prose_query_extracts_code_mentions():
    q = analyse("Fix validators.disabled() to save/restore state when `set_run_validators` "
                "is nested, see src/attr/validators.py")
    assert "validators.disabled" in q.identifiers
    assert "set_run_validators" in q.identifiers
    assert "src/attr/validators.py" in q.paths
    assert not q.is_identifier
    assert "state" in q.terms


def test_plain_english_is_not_an_identifier_list():
    q = analyse("how are retries configured for uploads")
    assert q.identifiers == ()
    assert not q.about_tests


def test_python_traceback_frames_innermost_first():
    text = ('Traceback (most recent call last):\n'
            '  File "/home/u/proj/pkg/api.py", line 10, in handle\n'
            '    return decode(body)\n'
            '  File "/home/u/proj/pkg/codec.py", line 42, in decode\n'
            '    raise ValueError("bad")\nValueError: bad')
    q = analyse(text)
    assert [(f.path.rsplit("/", 1)[-1], f.line, f.function) for f in q.frames] == [
        ("codec.py", 42, "decode"), ("api.py", 10, "handle")]
    assert "decode" in q.identifiers


def test_js_and_java_frames():
    js = analyse("TypeError: x is undefined\n    at Command.parse (lib/command.js:120:11)")
    assert js.frames[0].path == "lib/command.js" and js.frames[0].line == 120
    java = analyse("java.lang.NullPointerException\n\tat com.acme.Server.handle(Server.java:77)")
    assert java.frames[0].path == "Server.java" and java.frames[0].function == "handle"


GO_PANIC = """panic: runtime error: invalid memory address or nil pointer dereference
goroutine 1 [running]:
github.com/spf13/cobra.(*Command).Find(0x0, {0xc000012345, 0x1, 0x1})
\t/home/u/go/pkg/mod/github.com/spf13/cobra@v1.6.1/command.go:620 +0x45
main.main()
\t/home/u/app/main.go:12 +0x1d"""
RUST_BACKTRACE = """thread 'main' panicked at 'boom', src/re_unicode.rs:139:9
stack backtrace:
   0: rust_begin_unwind
             at /rustc/abc/library/std/src/panicking.rs:575:5
   3: regex::re_unicode::Regex::new
             at ./src/re_unicode.rs:139:9
   4: myapp::main::h0123456789abcdef
             at ./src/main.rs:4:5"""
CSHARP_TRACE = """System.NullReferenceException: Object reference not set to an instance of an object.
   at MyApp.Services.OrderService.Process(Order order) in /src/MyApp/Services/OrderService.cs:line 42
   at MyApp.Api.OrderController.Post(OrderDto dto) in C:\\src\\Api\\OrderController.cs:line 17"""
RUBY_TRACE = """app/models/user.rb:10:in `save': undefined method `name' for nil (NoMethodError)
\tfrom app/controllers/users_controller.rb:5:in 'UsersController#create'"""
PHP_TRACE = """PHP Fatal error:  Uncaught Exception: boom in /var/www/src/Foo.php:12
Stack trace:
#0 /var/www/src/Bar.php(30): App\\Foo->run()
#1 {main}
  thrown in /var/www/src/Foo.php on line 12"""


@pytest.mark.parametrize("trace, expected", [
    (GO_PANIC, [("command.go", 620, "cobra.(*Command).Find"), ("main.go", 12, "main.main")]),
    (RUST_BACKTRACE, [("panicking.rs", 575, "rust_begin_unwind"),
                      ("re_unicode.rs", 139, "regex::re_unicode::Regex::new"),
                      ("main.rs", 4, "myapp::main")]),
    (CSHARP_TRACE, [("OrderService.cs", 42, "MyApp.Services.OrderService.Process"),
                    ("OrderController.cs", 17, "MyApp.Api.OrderController.Post")]),
    (RUBY_TRACE, [("user.rb", 10, "save"), ("users_controller.rb", 5, "UsersController#create")]),
    (PHP_TRACE, [("Foo.php", 12, ""), ("Bar.php", 30, "")]),
])
def test_frames_of_other_languages_innermost_first(trace, expected):
    frames = analyse(trace).frames
    assert [(re.split(r"[/\\\\]", f.path)[-1], f.line, f.function) for f in frames] == expected


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_query_is_rejected(bad):
    with pytest.raises(BadQueryError):
        analyse(bad)


def test_huge_query_is_rejected_with_limit():
    with pytest.raises(BadQueryError, match="characters"):
        analyse("x " * 20_000, max_chars=20_000)


def test_fts_syntax_is_quoted_away():
    q = analyse('"NEAR(a b)" AND * OR (x')
    # Only [\w] tokens reach FTS5 and every one is quoted.
    assert all(t.replace("_", "").isalnum() for t in q.terms)
    assert fts_query(["near", "x"]) == '"near" OR "x"'


def test_backticked_string_literals_are_not_identifiers():
    q = analyse("Emit the `'message'` and `'ping'` events from `Receiver.startLoop()`")
    assert q.identifiers == ("Receiver.startLoop",)


@pytest.mark.parametrize("text, expected", [
    ("ValueError: Invalid isoformat string: '2020-13-01'", ("invalid isoformat string",)),
    ("json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: "
     "line 1 column 2 (char 1)",
     ("expecting property name enclosed in double quotes", "line 1 column 2", "char 1")),
    ("RuntimeError: Cannot call write() after write_eof()",
     ("after write_eof write eof", "cannot call write")),  # tokens as the index has them
    ("panic: assignment to entry in nil map", ("assignment to entry in nil map",)),
    ('why does it print "connection reset by peer" on close?', ("connection reset by peer",)),
    ("TypeError: can't pickle lock objects", ("can t pickle lock objects",)),
    ('  File "/srv/app/pkg/client.py", line 18, in send', ()),  # a path is no message
    ('Use weaker wording: "broken" instead of "illegal"', ()),  # quotes pair left to right
    ("Don't say 'messages_dict' is an alias for 'messages'", ()),  # apostrophes are no quotes
    ("panic: flag redefined: verbose", ("flag redefined",)),
    ("how do I parse a header", ()),
])
def test_error_message_phrases(text, expected):
    assert analyse(text).messages == expected


def test_what_a_query_is_about_is_read_from_its_opening_paragraph():
    squashed = ("Perform order checks after the field transformer\n\n"
                "* Perform order checks after the field transformer\n\n"
                "* [pre-commit.ci] auto fixes from pre-commit.com hooks\n\n"
                "* Fix assert style in test_hooks\n\n* Fix docs\n")
    q = analyse(squashed)
    assert not (q.about_tests or q.about_docs or q.about_config)
    assert analyse("Add tests for the header parser\n\nIt splits on the first colon.").about_tests
    assert analyse("which tests cover retries? the client retries three times").about_tests


def test_opening_terms_only_when_more_paragraphs_follow():
    q = analyse("Header names keep their case\n\nparse_header should lower-case them.")
    assert q.opening_terms == ("header", "names", "keep", "case")
    assert "parse_header" in q.terms
    assert analyse("Header names keep their case, parse_header should fix it").opening_terms == ()
    assert analyse("Header names keep their case\nparse_header should fix it").opening_terms == ()


def test_a_hyphenated_host_name_is_not_an_identifier():
    q = analyse("auto fixes from pre-commit.ci, see pre-commit.com for more")
    assert "commit.ci" not in q.identifiers and "commit.com" not in q.identifiers
    assert analyse("HttpClient.send retries").identifiers == ("HttpClient.send",)
