"""Tests for the deep parser: exact definitions and references per language, robustness
on bad input and on the CPython standard library, and the language registry.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from codesift.ingest.languages import DEEP_LANGUAGES, is_test_path, language_for_path
from codesift.ingest.parse import parse_source, python_module
from codesift.model import ParsedFile

FIXTURES = Path(__file__).parent / "fixtures" / "langs"
STDLIB = Path(sysconfig.get_paths()["stdlib"])

# path -> (language, module, symbols as (qualname, kind, start, end, parent, body_start,
# signature, doc), references as (kind, name, line, scope)), all in document order.
EXPECTED = {
    'src/shop/client.py': ('python', 'shop.client', [
        ('shop.client.fetch', 'function', 9, 18, None, 12,
         'def fetch(url: str, retries: int = 2) -> bytes', 'Fetch a URL.\n\nRetries on failure.'),
        ('shop.client.fetch.attempt', 'function', 16, 17, 'shop.client.fetch', 17,
         'def attempt()', ''),
        ('shop.client.HttpClient', 'class', 21, 33, None, 22,
         'class HttpClient(Base, mixins.Logging, metaclass=Meta)', 'Talks to the server.'),
        ('shop.client.HttpClient.send', 'method', 26, 28, 'shop.client.HttpClient', 27,
         'def send(self, request)', ''),
        ('shop.client.HttpClient.close', 'method', 31, 33, 'shop.client.HttpClient', 32,
         'async def close(self)', 'Not a docstring, a comment.'),
        ('shop.client.HttpClient.close.Closer', 'class', 32, 33, 'shop.client.HttpClient.close', 33,
         'class Closer', ''),
    ], [
        ('import', 'os.path as osp', 2, None),
        ('import', 'sys', 3, None),
        ('import', '.retry:backoff as bo', 4, None),
        ('import', '.retry:Policy', 4, None),
        ('import', '.:errors', 5, None),
        ('import', 'typing:*', 6, None),
        ('call', 'decorator', 9, 'shop.client.fetch'),
        ('call', 'osp.join', 17, 'shop.client.fetch.attempt'),
        ('call', 'attempt', 18, 'shop.client.fetch'),
        ('inherit', 'Base', 21, 'shop.client.HttpClient'),
        ('inherit', 'mixins.Logging', 21, 'shop.client.HttpClient'),
        ('call', 'self.save', 27, 'shop.client.HttpClient.send'),
        ('call', 'sys.exit', 28, 'shop.client.HttpClient.send'),
    ]),
    'app.js': ('javascript', '', [
        ('add', 'function', 11, 13, None, 12,
         'export function add(a, b)', 'Adds numbers.\n@param {number} a'),
        ('mul', 'function', 16, 16, None, 16,
         'const mul = (a, b) =>', 'Multiplies.'),
        ('Widget', 'class', 18, 25, None, 19,
         'class Widget extends Base', ''),
        ('Widget.handler', 'method', 19, 19, 'Widget', 19,
         'handler = (e) =>', ''),
        ('Widget.render', 'method', 21, 24, 'Widget', 22,
         'render(e)', ''),
        ('Widget.extra', 'method', 27, 27, 'Widget', 27,
         'Widget.prototype.extra = function ()', ''),
        ('module.exports.util', 'function', 28, 28, None, 28,
         'module.exports.util = function util()', ''),
    ], [
        ('import', './y:default as x', 1, None),
        ('import', './y:a as b', 1, None),
        ('import', './y:c', 1, None),
        ('import', 'lib:* as ns', 2, None),
        ('import', './z:d as e', 3, None),
        ('import', './all:*', 4, None),
        ('import', 'fs as fs', 5, None),
        ('call', 'helper.sum', 12, 'add'),
        ('inherit', 'Base', 18, 'Widget'),
        ('call', 'this.render', 19, 'Widget.handler'),
        ('call', 'console.log', 22, 'Widget.render'),
        ('call', 'Foo', 23, 'Widget.render'),
        ('call', 'go', 27, 'Widget.extra'),
    ]),
    'shapes.ts': ('typescript', '', [
        ('Shape', 'interface', 5, 7, None, 6,
         'export interface Shape extends Base<T>', 'Shape API.'),
        ('Shape.area', 'method', 6, 6, 'Shape', None,
         'area(): number', ''),
        ('Id', 'type', 9, 9, None, None,
         'export type Id = string | number', ''),
        ('Color', 'enum', 11, 11, None, 11,
         'export enum Color', ''),
        ('Geo', 'module', 13, 24, None, 14,
         'namespace Geo', ''),
        ('Geo.Circle', 'class', 14, 23, 'Geo', 15,
         'export abstract class Circle implements Shape, Other', ''),
        ('Geo.Circle.constructor', 'method', 15, 15, 'Geo.Circle', 15,
         'constructor(private r: number)', ''),
        ('Geo.Circle.area', 'method', 18, 20, 'Geo.Circle', 19,
         'area(): number', 'Area of the circle.'),
        ('Geo.Circle.name', 'method', 22, 22, 'Geo.Circle', None,
         'abstract name(): string', ''),
        ('ext', 'function', 26, 26, None, None,
         'declare function ext(x: number): void', ''),
    ], [
        ('import', './types:T', 1, None),
        ('import', '@acme/log:Logger', 2, None),
        ('inherit', 'Base', 5, 'Shape'),
        ('implement', 'Shape', 14, 'Geo.Circle'),
        ('implement', 'Other', 14, 'Geo.Circle'),
        ('call', 'this.sq', 19, 'Geo.Circle.area'),
    ]),
    'button.tsx': ('tsx', '', [
        ('Button', 'function', 4, 6, None, 5,
         'export const Button = ({ label }: Props) =>', 'A clickable button.'),
        ('App', 'function', 8, 10, None, 9,
         'function App(): JSX.Element', ''),
    ], [
        ('import', 'react:default as React', 1, None),
        ('reference', 'Props', 4, 'Button'),
        ('call', 'track', 5, 'Button'),
        ('reference', 'JSX.Element', 8, 'App'),
    ]),
    'server.go': ('go', 'srv', [
        ('srv.Server', 'struct', 11, 15, None, 12,
         'type Server struct', 'Server handles requests.\nIt is safe for concurrent use.'),
        ('srv.Handler', 'interface', 17, 20, None, 18,
         'type Handler interface', ''),
        ('srv.ID', 'type', 22, 22, None, None,
         'type ID int', ''),
        ('srv.(*Server).Handle', 'method', 25, 28, 'srv.Server', 26,
         'func (s *Server) Handle(w h.ResponseWriter)', 'Handle serves one request.'),
        ('srv.(Server).Name', 'method', 30, 30, 'srv.Server', 30,
         'func (s Server) Name() string', ''),
        ('srv.New', 'function', 32, 34, None, 33,
         'func New[T any](addr string) *Server', ''),
    ], [
        ('import', 'net/http as h', 5, None),
        ('import', 'os', 6, None),
        ('inherit', 'Base', 12, 'srv.Server'),
        ('inherit', 'Other', 13, 'srv.Server'),
        ('inherit', 'io.Reader', 18, 'srv.Handler'),
        ('reference', 'h.ResponseWriter', 19, 'srv.Handler'),
        ('reference', 'h.ResponseWriter', 25, 'srv.(*Server).Handle'),
        ('call', 's.log', 26, 'srv.(*Server).Handle'),
        ('call', 'os.Exit', 27, 'srv.(*Server).Handle'),
        ('reference', 'Server', 32, 'srv.New'),
    ]),
    'lib.rs': ('rust', '', [
        ('Point', 'struct', 6, 9, None, 8,
         'pub struct Point', 'A point.\nIn 2D.'),
        ('Shape', 'enum', 11, 11, None, 11,
         'pub enum Shape', ''),
        ('Draw', 'trait', 13, 17, None, 14,
         'pub trait Draw: Debug + fmt::Display', ''),
        ('Draw::draw', 'method', 15, 15, 'Draw', None,
         'fn draw(&self)', 'Draws.'),
        ('Draw::name', 'method', 16, 16, 'Draw', 16,
         'fn name(&self) -> String', ''),
        ('impl Point', 'impl', 19, 23, None, 20,
         'impl Point', ''),
        ('Point::new', 'method', 20, 22, 'impl Point', 21,
         'pub fn new(x: i32) -> Self', ''),
        ('impl Draw for Wrapper<T>', 'impl', 25, 30, None, 26,
         'impl<T: Clone> Draw for Wrapper<T>', ''),
        ('Wrapper::draw', 'method', 26, 29, 'impl Draw for Wrapper<T>', 27,
         'fn draw(&self)', ''),
        ('inner', 'module', 32, 34, None, 33,
         'mod inner', ''),
        ('inner::helper', 'function', 33, 33, 'inner', 33,
         'pub fn helper()', ''),
    ], [
        ('import', 'std::collections::HashMap', 1, None),
        ('import', 'std::collections::hash_map::Entry', 1, None),
        ('import', 'crate::util as u', 2, None),
        ('inherit', 'Debug', 13, 'Draw'),
        ('inherit', 'fmt::Display', 13, 'Draw'),
        ('reference', 'String', 16, 'Draw::name'),
        ('call', 'String::new', 16, 'Draw::name'),
        ('reference', 'Point', 21, 'Point::new'),
        ('implement', 'Draw', 25, 'Wrapper'),
        ('call', 'self.0.render', 27, 'Wrapper::draw'),
        ('call', 'Point::new', 28, 'Wrapper::draw'),
    ]),
    'Cache.java': ('java', 'com.acme.cache', [
        ('com.acme.cache.Cache', 'class', 9, 22, None, 11,
         'public class Cache<K> extends Base<K> implements Store, Closeable', 'A cache.'),
        ('com.acme.cache.Cache.Cache', 'method', 11, 11, 'com.acme.cache.Cache', 11,
         'public Cache()', ''),
        ('com.acme.cache.Cache.get', 'method', 14, 17, 'com.acme.cache.Cache', 16,
         'public V get(K key)', 'Gets a value.'),
        ('com.acme.cache.Cache.Loader', 'interface', 19, 19, 'com.acme.cache.Cache', 19,
         'interface Loader extends Fn', ''),
        ('com.acme.cache.Cache.Loader.load', 'method', 19, 19, 'com.acme.cache.Cache.Loader', None,
         'V load(K k)', ''),
        ('com.acme.cache.Cache.Mode', 'enum', 21, 21, 'com.acme.cache.Cache', 21,
         'enum Mode', ''),
    ], [
        ('import', 'java.util.List', 3, None),
        ('import', 'org.junit.Assert.*', 4, None),
        ('inherit', 'Base', 10, 'com.acme.cache.Cache'),
        ('implement', 'Store', 10, 'com.acme.cache.Cache'),
        ('implement', 'Closeable', 10, 'com.acme.cache.Cache'),
        ('call', 'map.get(key).orElse', 16, 'com.acme.cache.Cache.get'),
        ('call', 'map.get', 16, 'com.acme.cache.Cache.get'),
        ('call', 'compute', 16, 'com.acme.cache.Cache.get'),
        ('inherit', 'Fn', 19, 'com.acme.cache.Cache.Loader'),
    ]),
    'Cache.cs': ('csharp', 'Acme.Caching', [
        ('Acme.Caching', 'module', 4, 22, None, 6,
         'namespace Acme.Caching', ''),
        ('Acme.Caching.Cache', 'class', 7, 17, 'Acme.Caching', 10,
         'public class Cache : Base, ICache, IDisposable', 'A cache.'),
        ('Acme.Caching.Cache.Cache', 'method', 10, 10, 'Acme.Caching.Cache', 10,
         'public Cache()', ''),
        ('Acme.Caching.Cache.Get', 'method', 13, 16, 'Acme.Caching.Cache', 15,
         'public string Get(string key)', 'Gets.'),
        ('Acme.Caching.ICache', 'interface', 19, 19, 'Acme.Caching', 19,
         'public interface ICache : IDisposable', ''),
        ('Acme.Caching.ICache.Get', 'method', 19, 19, 'Acme.Caching.ICache', None,
         'string Get(string key)', ''),
        ('Acme.Caching.P', 'struct', 21, 21, 'Acme.Caching', 21,
         'public struct P : IEquatable<P>', ''),
    ], [
        ('import', 'System.Text', 1, None),
        ('import', 'Newtonsoft.Json as Json', 2, None),
        ('inherit', 'Base', 8, 'Acme.Caching.Cache'),
        ('implement', 'ICache', 8, 'Acme.Caching.Cache'),
        ('implement', 'IDisposable', 8, 'Acme.Caching.Cache'),
        ('call', 'store.Fetch', 15, 'Acme.Caching.Cache.Get'),
        ('call', 'new Builder().Build', 15, 'Acme.Caching.Cache.Get'),
        ('call', 'Builder', 15, 'Acme.Caching.Cache.Get'),
        ('inherit', 'IDisposable', 19, 'Acme.Caching.ICache'),
        ('implement', 'IEquatable', 21, 'Acme.Caching.P'),
    ]),
    'buf.c': ('c', '', [
        ('Buf', 'struct', 5, 7, None, 6,
         'typedef struct Buf', 'A buffer.'),
        ('node', 'struct', 9, 9, None, 9,
         'struct node', ''),
        ('color', 'enum', 10, 10, None, 10,
         'enum color', ''),
        ('buf_alloc', 'function', 13, 16, None, 15,
         'static char *buf_alloc(size_t n)', 'Allocates.'),
        ('main', 'function', 18, 18, None, 18,
         'int main(void)', ''),
    ], [
        ('import', 'stdio.h', 1, None),
        ('import', 'buf.h', 2, None),
        ('call', 'malloc', 15, 'buf_alloc'),
        ('call', 'buf_alloc', 18, 'main'),
    ]),
    'socket.cpp': ('cpp', '', [
        ('net', 'module', 2, 16, None, 3,
         'namespace net', ''),
        ('net::Socket', 'class', 4, 8, 'net', 5,
         'class Socket : public Base, private Noncopyable', 'A socket.'),
        ('net::Socket::send', 'method', 6, 6, 'net::Socket', 6,
         'void send(int x)', ''),
        ('net::Socket::recv', 'method', 10, 13, 'net::Socket', 12,
         'template <typename T> T Socket::recv(int n) const', ''),
        ('net::Socket::~Socket', 'method', 15, 15, 'net::Socket', 15,
         'Socket::~Socket()', ''),
        ('a::b', 'module', 17, 17, None, 17,
         'namespace a::b', ''),
        ('a::b::S', 'struct', 17, 17, 'a::b', 17,
         'struct S', ''),
    ], [
        ('import', 'vector', 1, None),
        ('inherit', 'Base', 4, 'net::Socket'),
        ('inherit', 'Noncopyable', 4, 'net::Socket'),
        ('call', 'impl_->write', 6, 'net::Socket::send'),
        ('call', 'std::move', 12, 'net::Socket::recv'),
        ('call', 'buf.read', 12, 'net::Socket::recv'),
        ('call', 'close', 15, 'net::Socket::~Socket'),
    ]),
    'cart.rb': ('ruby', '', [
        ('Shop', 'module', 4, 19, None, 7,
         'module Shop', ''),
        ('Shop::Cart', 'class', 7, 18, 'Shop', 8,
         'class Cart < Base', 'A cart.\nHolds items.'),
        ('Shop::Cart.build', 'method', 10, 12, 'Shop::Cart', 11,
         'def self.build(items)', ''),
        ('Shop::Cart#add', 'method', 14, 17, 'Shop::Cart', 15,
         'def add(item)', ''),
        ('helper', 'function', 21, 21, None, None,
         'def helper; end', ''),
    ], [
        ('import', 'json', 1, None),
        ('import', './item', 2, None),
        ('inherit', 'Base', 7, 'Shop::Cart'),
        ('call', 'include', 8, 'Shop::Cart'),
        ('implement', 'Enumerable', 8, 'Shop::Cart'),
        ('call', 'new', 11, 'Shop::Cart.build'),
        ('call', '@items.push', 15, 'Shop::Cart#add'),
        ('call', 'log', 16, 'Shop::Cart#add'),
    ]),
    'Cart.php': ('php', 'App\\Shop', [
        ('App\\Shop\\Cart', 'class', 10, 21, None, 12,
         'class Cart extends Base implements \\Countable, HasItems', 'A cart.'),
        ('App\\Shop\\Cart::add', 'method', 14, 20, 'App\\Shop\\Cart', 16,
         'public function add(Item $item): void', ''),
        ('App\\Shop\\HasItems', 'interface', 23, 23, None, 23,
         'interface HasItems', ''),
        ('App\\Shop\\HasItems::items', 'method', 23, 23, 'App\\Shop\\HasItems', None,
         'public function items(): array', ''),
        ('App\\Shop\\Loggable', 'trait', 24, 24, None, 24,
         'trait Loggable', ''),
        ('App\\Shop\\helper', 'function', 25, 25, None, 25,
         'function helper()', ''),
    ], [
        ('import', 'App\\Models\\Item as ItemModel', 4, None),
        ('import', 'Psr\\Log\\LoggerInterface', 4, None),
        ('import', 'App\\Util\\Str', 5, None),
        ('import', 'App\\Util\\Arr', 5, None),
        ('inherit', 'Base', 10, 'App\\Shop\\Cart'),
        ('implement', '\\Countable', 10, 'App\\Shop\\Cart'),
        ('implement', 'HasItems', 10, 'App\\Shop\\Cart'),
        ('implement', 'Loggable', 12, 'App\\Shop\\Cart'),
        ('call', 'self::check', 17, 'App\\Shop\\Cart::add'),
        ('call', 'helper', 18, 'App\\Shop\\Cart::add'),
        ('call', 'ItemModel', 19, 'App\\Shop\\Cart::add'),
    ]),
}


def _parse_fixture(rel: str) -> tuple[ParsedFile, tuple]:
    language, *expected = EXPECTED[rel]
    text = (FIXTURES / rel).read_text(encoding="utf-8")
    return parse_source(rel, text, language), expected


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_definitions_are_exact(rel):
    parsed, (module, symbols, _) = _parse_fixture(rel)
    assert parsed.error is None
    assert parsed.module == module
    got = [
        (s.qualname, s.kind, s.start_line, s.end_line, s.parent, s.body_start_line, s.signature, s.doc)
        for s in parsed.symbols
    ]
    assert got == symbols


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_references_are_exact(rel):
    parsed, (_, _, references) = _parse_fixture(rel)
    assert [(r.kind, r.name, r.line, r.scope) for r in parsed.references] == references


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_bare_names_are_qualname_suffixes(rel):
    parsed, _ = _parse_fixture(rel)
    for s in parsed.symbols:
        assert s.qualname.endswith(s.name)


def test_every_deep_language_has_a_fixture():
    assert {lang for lang, *_ in EXPECTED.values()} == DEEP_LANGUAGES


@pytest.mark.parametrize(
    "path, module",
    [
        ("src/pkg/client.py", "pkg.client"),
        ("lib/pkg/__init__.py", "pkg"),
        ("pkg/sub/mod.pyi", "pkg.sub.mod"),
        ("json/decoder.py", "json.decoder"),
        ("setup.py", "setup"),
    ],
)
def test_python_module_from_path(path, module):
    assert python_module(path) == module


@pytest.mark.parametrize("language", sorted(DEEP_LANGUAGES))
@pytest.mark.parametrize("text", ["", "\x00\x01\x02 garbage ((((", "}}}}{{{{ ;;;; '''\n\"\"\" \udcff"])
def test_bad_input_never_raises(language, text):
    parsed = parse_source("x", text, language)
    assert isinstance(parsed, ParsedFile)
    if parsed.error is not None:
        assert parsed.symbols == () and "\n" not in parsed.error


def test_whole_file_errors_report_a_reason():
    parsed = parse_source("bad.py", ")))) (((( ]]]] " * 50 + "\n", "python")
    assert parsed.error and parsed.symbols == ()


def test_partial_syntax_errors_keep_good_definitions():
    text = "def good(a):\n    return a\n\ndef broken(:\n    pass\n\nclass Fine:\n    def m(self):\n        pass\n"
    parsed = parse_source("m.py", text, "python")
    assert parsed.error is None
    names = {s.qualname for s in parsed.symbols}
    assert {"m.good", "m.Fine", "m.Fine.m"} <= names


def test_unknown_language_is_an_error_not_an_exception():
    parsed = parse_source("a.zig", "fn main() {}", "zig")
    assert parsed.error and parsed.symbols == ()


def test_go_value_and_pointer_receivers_are_suffixes():
    parsed, _ = _parse_fixture("server.go")
    quals = {s.qualname for s in parsed.symbols}
    assert any(q.endswith("(*Server).Handle") for q in quals)
    assert any(q.endswith("(Server).Name") for q in quals)


def _stdlib_files(limit: int) -> list[Path]:
    files = sorted(p for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts)
    step = max(1, len(files) // limit)
    picked = files[::step][:limit]
    must = [STDLIB / "json" / "decoder.py", STDLIB / "collections" / "__init__.py"]
    return picked + [p for p in must if p.exists() and p not in picked]


@pytest.mark.skipif(not (STDLIB / "json" / "decoder.py").exists(), reason="no CPython stdlib sources")
def test_stdlib_parses_without_exceptions():
    seen: dict[str, ParsedFile] = {}
    for path in _stdlib_files(250):
        rel = path.relative_to(STDLIB).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        parsed = parse_source(rel, text, "python")
        for s in parsed.symbols:
            assert 1 <= s.start_line <= s.end_line, (rel, s)
            assert s.body_start_line is None or s.start_line <= s.body_start_line <= s.end_line, (rel, s)
            assert len(s.signature) <= 300
        seen[rel] = parsed
    decoder = seen["json/decoder.py"]
    assert decoder.module == "json.decoder"
    quals = {s.qualname: s for s in decoder.symbols}
    assert quals["json.decoder.JSONDecoder.decode"].kind == "method"
    assert quals["json.decoder.JSONDecoder"].kind == "class"
    assert quals["json.decoder.JSONDecoder.decode"].signature.startswith("def decode(self, s")
    assert "collections.OrderedDict" in {s.qualname for s in seen["collections/__init__.py"].symbols}


@pytest.mark.parametrize(
    "path, first_line, language",
    [
        ("a/b.py", "", "python"),
        ("stubs/x.pyi", "", "python"),
        ("web/x.mjs", "", "javascript"),
        ("web/x.jsx", "", "javascript"),
        ("web/x.cts", "", "typescript"),
        ("web/x.tsx", "", "tsx"),
        ("x.go", "", "go"),
        ("x.rs", "", "rust"),
        ("X.java", "", "java"),
        ("x.h", "", "c"),
        ("x.hpp", "", "cpp"),
        ("x.h++", "", "cpp"),
        ("X.cs", "", "csharp"),
        ("tasks.rake", "", "ruby"),
        ("Gemfile", "", "ruby"),
        ("x.php", "", "php"),
        ("bin/tool", "#!/usr/bin/env python3", "python"),
        ("bin/tool", "#!/usr/bin/node", "javascript"),
        ("bin/tool", "#!/bin/bash -e", "shell"),
        ("bin/tool", "#!/usr/bin/env ruby", "ruby"),
        ("run.sh", "", "shell"),
        ("README.md", "", "markdown"),
        ("docs/x.rst", "", "rst"),
        ("ci.yml", "", "yaml"),
        ("pyproject.toml", "", "toml"),
        ("package.json", "", "json"),
        ("db/schema.sql", "", "sql"),
        ("README", "", "text"),
        ("LICENSE", "", "text"),
        ("setup.cfg", "", "text"),
        ("index.html", "", "text"),
        ("site.css", "", "text"),
        ("logo.png", "", None),
        ("bin/blob", "", None),
    ],
)
def test_language_for_path(path, first_line, language):
    assert language_for_path(path, first_line) == language


@pytest.mark.parametrize(
    "path, language, expected",
    [
        ("tests/test_api.py", "python", True),
        ("pkg/test_api.py", "python", True),
        ("pkg/api_test.py", "python", True),
        ("conftest.py", "python", True),
        ("pkg/api.py", "python", False),
        ("pkg/testing_utils.py", "python", False),
        ("src/__tests__/x.js", "javascript", True),
        ("src/x.test.js", "javascript", True),
        ("src/x.spec.ts", "typescript", True),
        ("src/x.test.tsx", "tsx", True),
        ("src/x.ts", "typescript", False),
        ("srv/server_test.go", "go", True),
        ("srv/server.go", "go", False),
        ("src/test/java/com/acme/CacheTest.java", "java", True),
        ("src/main/java/com/acme/CacheTests.java", "java", True),
        ("src/main/java/com/acme/Cache.java", "java", False),
        ("spec/cart_spec.rb", "ruby", True),
        ("lib/cart.rb", "ruby", False),
        ("src/CartTest.php", "php", True),
        ("Acme.Tests/CacheTests.cs", "csharp", True),
        ("Acme/Cache.cs", "csharp", False),
        ("tests/integration.rs", "rust", True),
    ],
)
def test_is_test_path(path, language, expected):
    assert is_test_path(path, language) is expected
