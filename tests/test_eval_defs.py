"""The definitions extractor of the evaluation (codesift.evaluate.defs) on a small realistic
file per language, and BM25-chunk cutting a multi-language tree with it."""

from __future__ import annotations

import textwrap

import pytest

from codesift.evaluate.baselines import chunk_docs, file_docs
from codesift.evaluate.defs import (
    SOURCE_EXTENSIONS,
    Definition,
    definitions,
    innermost,
    language_of,
)

from conftest import write_tree


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def table(path: str, text: str) -> list[tuple[str, str, int, int]]:
    return [(d.kind, d.name, d.start_line, d.end_line) for d in definitions(path, src(text))]


def leaves(path: str, text: str) -> list[str]:
    return [d.name for d in definitions(path, src(text)) if d.leaf]


PYTHON = '''
    import os


    def top(a):
        def inner():
            return a
        return inner


    @register
    class Widget(Base):
        size = 3

        @property
        def area(self):
            return self.size ** 2

        class Meta:
            ordering = ["id"]

        async def load(self):
            pass
'''

JAVASCRIPT = '''
    const helper = (x) => x * 2;

    function outer() {
      function inner() {}
      return inner;
    }

    class Store extends Base {
      constructor() { super(); }
      get size() { return 0; }
    }

    module.exports.load = function (path) {
      return path;
    };
'''

TYPESCRIPT = '''
    export interface Options { verbose: boolean }

    export class Client {
      private url: string;
      constructor(url: string) { this.url = url; }
      async fetch<T>(path: string): Promise<T> {
        return null as T;
      }
    }

    export function connect(url: string): Client {
      return new Client(url);
    }
'''

TSX = '''
    export const App = () => <div className="app">hi</div>;

    function Button(props: { label: string }) {
      return <button>{props.label}</button>;
    }
'''

GO = '''
    package shapes

    import "math"

    type Circle struct {
    	R float64
    }

    type Shape interface {
    	Area() float64
    }

    type ID int

    func (c *Circle) Area() float64 {
    	return math.Pi * c.R * c.R
    }

    func (c Circle) String() string { return "circle" }

    func New(r float64) *Circle {
    	return &Circle{R: r}
    }
'''

RUST = '''
    use std::fmt;

    #[derive(Debug, Clone)]
    pub struct Point {
        x: i32,
    }

    impl Point {
        pub fn new(x: i32) -> Self {
            fn clamp(v: i32) -> i32 { v.max(0) }
            Point { x: clamp(x) }
        }
    }

    impl fmt::Display for Point {
        fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "{}", self.x)
        }
    }

    pub trait Shape {
        fn area(&self) -> f64;
        fn describe(&self) -> String { String::new() }
    }

    mod tests {
        #[test]
        fn works() {}
    }
'''

JAVA = '''
    package com.example;

    import java.util.List;

    @Entity
    public class Order {
        private final int id;

        public Order(int id) {
            this.id = id;
        }

        @Override
        public String toString() {
            return "Order " + id;
        }

        static class Line {
            int qty() { return 1; }
        }

        enum Status { OPEN, CLOSED }
    }

    interface Repository {
        Order find(int id);
        default List<Order> all() { return List.of(); }
    }
'''

C = '''
    #include <stdio.h>

    struct point {
        int x, y;
    };

    typedef struct {
        int len;
    } buffer_t;

    int add(int a, int b);

    static int add(int a, int b)
    {
        return a + b;
    }

    char *name(struct point *p) { return "c"; }
'''

CPP = '''
    #include <string>

    namespace geo {

    class Shape {
    public:
        double area() const;
        std::string name() const { return "shape"; }
    };

    double Shape::area() const {
        return 0.0;
    }

    template <typename T>
    T twice(T v) {
        return v * 2;
    }

    }  // namespace geo
'''

CSHARP = '''
    using System;

    namespace Shop.Billing
    {
        [Serializable]
        public class Invoice
        {
            public decimal Total { get; set; }

            public string Label => $"#{Total}";

            public Invoice(decimal total)
            {
                Total = total;
            }

            public decimal WithTax(decimal rate) => Total * (1 + rate);
        }

        public interface IPayable
        {
            void Pay();
        }
    }
'''

RUBY = '''
    require "json"

    module Billing
      class Invoice
        attr_reader :total

        def initialize(total)
          @total = total
        end

        def self.from_json(text)
          new(JSON.parse(text)["total"])
        end
      end
    end

    def helper
      :ok
    end
'''

PHP = '''
    <?php
    namespace App;

    trait Greets
    {
        public function greet(): string
        {
            return "hi " . $this->name;
        }
    }

    final class User
    {
        use Greets;

        public function __construct(private string $name) {}
    }

    interface Named
    {
        public function name(): string;
    }

    function make_user(string $name): User
    {
        return new User($name);
    }
'''


def test_python_nested_and_decorated_definitions():
    assert table("w.py", PYTHON) == [
        ("function", "top", 4, 7),
        ("function", "top.inner", 5, 6),
        ("class", "Widget", 10, 22),  # the decorator's line is the class's first
        ("method", "Widget.area", 14, 16),
        ("class", "Widget.Meta", 18, 19),
        ("method", "Widget.load", 21, 22),
    ]
    assert leaves("w.py", PYTHON) == ["top", "Widget", "Widget.area", "Widget.Meta", "Widget.load"]


def test_javascript_bindings_classes_and_nesting():
    assert table("store.js", JAVASCRIPT) == [
        ("function", "helper", 1, 1),
        ("function", "outer", 3, 6),
        ("function", "outer.inner", 4, 4),
        ("class", "Store", 8, 11),
        ("method", "Store.constructor", 9, 9),
        ("method", "Store.size", 10, 10),
        ("function", "module.exports.load", 13, 15),
    ]


def test_typescript_keeps_the_floors_historical_kinds():
    # An interface is not a definition here: BM25-chunk never made one a chunk.
    assert table("client.ts", TYPESCRIPT) == [
        ("class", "Client", 3, 9),
        ("method", "Client.constructor", 5, 5),
        ("method", "Client.fetch", 6, 8),
        ("function", "connect", 11, 13),
    ]


def test_tsx_is_parsed_with_the_tsx_grammar():
    assert table("app.tsx", TSX) == [("function", "App", 1, 1), ("function", "Button", 3, 5)]


def test_go_receivers_name_methods_and_only_struct_and_interface_types_are_classes():
    assert table("shapes.go", GO) == [
        ("class", "Circle", 5, 7),
        ("class", "Shape", 9, 11),
        ("method", "Circle.Area", 15, 17),  # pointer receiver
        ("method", "Circle.String", 19, 19),
        ("function", "New", 21, 23),
    ]


def test_rust_impl_blocks_name_their_fns_and_mods_prefix():
    assert table("point.rs", RUST) == [
        ("class", "Point", 3, 6),  # #[derive] belongs to the struct
        ("class", "Point", 8, 13),  # impl Point
        ("method", "Point.new", 9, 12),
        ("function", "Point.new.clamp", 10, 10),
        ("class", "Point", 15, 19),  # impl fmt::Display for Point
        ("method", "Point.fmt", 16, 18),
        ("class", "Shape", 21, 24),
        ("method", "Shape.describe", 23, 23),  # a signature without a body is no definition
        ("function", "tests.works", 27, 28),
    ]
    assert "Point.new.clamp" not in leaves("point.rs", RUST)


def test_java_classes_constructors_annotations_and_default_methods():
    assert table("Order.java", JAVA) == [
        ("class", "Order", 5, 23),
        ("method", "Order.Order", 9, 11),
        ("method", "Order.toString", 13, 16),
        ("class", "Order.Line", 18, 20),
        ("method", "Order.Line.qty", 19, 19),
        ("class", "Order.Status", 22, 22),
        ("class", "Repository", 25, 28),
        ("method", "Repository.all", 27, 27),
    ]


def test_java_anonymous_class_methods_are_methods_inside_their_function():
    text = """
        class A {
            void m() {
                Runnable r = new Runnable() { public void run() {} };
            }
        }
    """
    assert [(d.kind, d.name, d.leaf) for d in definitions("A.java", src(text))] == [
        ("class", "A", True), ("method", "A.m", True), ("method", "A.m.run", False)]


def test_c_definitions_not_prototypes_and_typedef_structs_by_their_alias():
    assert table("util.c", C) == [
        ("class", "point", 3, 5),
        ("class", "buffer_t", 7, 9),
        ("function", "add", 13, 16),
        ("function", "name", 18, 18),
    ]


def test_cpp_out_of_line_methods_templates_and_namespaces_without_prefix():
    assert table("shape.cpp", CPP) == [
        ("class", "Shape", 5, 9),
        ("method", "Shape.name", 8, 8),
        ("method", "Shape.area", 11, 13),
        ("function", "twice", 15, 18),  # template line included
    ]


def test_cpp_conversion_operators_and_a_macro_read_as_a_type():
    # libstdc++'s `_GLIBCXX_BEGIN_NAMESPACE_VERSION namespace ranges {` parses as a function
    # named `namespace`; its contents are looked into instead, without that prefix.
    text = """
        BEGIN_NS
        namespace ranges
        {
          int f() { return 1; }
        }
        struct B { operator bool() const { return true; } };
    """
    assert table("ns.cpp", text) == [
        ("function", "f", 4, 4), ("class", "B", 6, 6), ("method", "B.operator bool", 6, 6)]


def test_rust_impl_for_a_trait_object_is_named_by_the_trait():
    text = """
        impl fmt::Debug for dyn Visitor + '_ {
            fn fmt(&self) {}
        }
        impl Marker for [u8] {}
    """
    assert table("v.rs", text) == [
        ("class", "Visitor", 1, 3), ("method", "Visitor.fmt", 2, 2), ("class", "[u8]", 4, 4)]


def test_csharp_namespace_class_property_and_expression_bodies():
    assert table("Invoice.cs", CSHARP) == [
        ("class", "Invoice", 5, 18),  # [Serializable] included
        ("method", "Invoice.Label", 10, 10),  # a property with code; `{ get; set; }` has none
        ("method", "Invoice.Invoice", 12, 15),
        ("method", "Invoice.WithTax", 17, 17),
        ("class", "IPayable", 20, 23),
    ]


def test_ruby_module_with_a_class_and_singleton_method():
    assert table("invoice.rb", RUBY) == [
        ("class", "Billing", 3, 15),
        ("class", "Billing.Invoice", 4, 14),
        ("method", "Billing.Invoice.initialize", 7, 9),
        ("method", "Billing.Invoice.from_json", 11, 13),
        ("function", "helper", 17, 19),
    ]


def test_php_trait_class_interface_and_function():
    assert table("User.php", PHP) == [
        ("class", "Greets", 4, 10),
        ("method", "Greets.greet", 6, 9),
        ("class", "User", 12, 17),
        ("method", "User.__construct", 16, 16),
        ("class", "Named", 19, 22),
        ("function", "make_user", 24, 27),
    ]


def test_a_header_is_c_unless_its_text_is_cpp():
    c_header = "struct list { int n; };\nstatic inline int size(struct list *l) { return l->n; }\n"
    assert table("list.h", c_header) == [("class", "list", 1, 1), ("function", "size", 2, 2)]
    cpp_header = "class Widget {\n public:\n  int size() const { return 1; }\n};\n"
    assert table("widget.h", cpp_header) == [
        ("class", "Widget", 1, 4), ("method", "Widget.size", 3, 3)]


def test_language_of_maps_every_extension():
    assert {language_of(f"x{ext}") for ext in SOURCE_EXTENSIONS} == {
        "python", "javascript", "typescript", "go", "rust", "java", "c", "cpp", "c_sharp", "ruby",
        "php"}
    assert language_of("a/b/App.TSX") == "typescript"
    assert language_of("x.h") == "c"
    assert language_of("x.hh") == language_of("x.c++") == "cpp"
    assert language_of("README.md") is None
    assert language_of("Makefile") is None


def test_bad_input_gives_no_definitions_and_never_raises():
    assert definitions("notes.txt", "def f():\n    pass\n") == []
    assert definitions("blob.py", "\x00\x01\x02 ))) ((( ]]] \x7f") == []
    # Deep nesting is walked without recursion; a function inside anonymous ones is a leaf.
    deep = "(() => {" * 3000 + "function deep() {}" + "})" * 3000 + ";\n"
    assert definitions("deep.js", deep) == [Definition("function", "deep", 1, 1, True)]
    # A lone surrogate (undecodable bytes read with surrogateescape) is replaced, not fatal.
    assert definitions("s.py", "def f():\n    return '\udcff'\n") == [
        Definition("function", "f", 1, 2, True)]
    # A syntax error does not cost the file's other definitions (tree-sitter recovers).
    broken = "def ok():\n    pass\n\nx = = 1\n\ndef also_ok():\n    return 2\n"
    assert [(d.name, d.start_line) for d in definitions("e.py", broken)] == [
        ("ok", 1), ("also_ok", 6)]


def test_innermost_is_the_smallest_definition_around_a_line():
    defs = definitions("w.py", src(PYTHON))
    assert innermost(defs, 6).name == "top.inner"
    assert innermost(defs, 7).name == "top"
    assert innermost(defs, 12).name == "Widget"  # class body between members
    assert innermost(defs, 15).name == "Widget.area"
    assert innermost(defs, 1) is None
    assert innermost([], 3) is None


def test_bm25_chunk_cuts_every_language_into_its_definitions(tmp_path):
    root = write_tree(tmp_path, {
        "shapes.go": GO, "point.rs": RUST, "Order.java": JAVA, "util.c": C, "shape.cpp": CPP,
        "Invoice.cs": CSHARP, "invoice.rb": RUBY, "User.php": PHP, "w.py": PYTHON,
        "README.md": "# not code\n", "notes.txt": "not code either\n",
    })
    docs = chunk_docs(root)
    assert sorted({d.path for d in docs}) == sorted({d.path for d in file_docs(root)}) == [
        "Invoice.cs", "Order.java", "User.php", "invoice.rb", "point.rs", "shape.cpp",
        "shapes.go", "util.c", "w.py"]
    by_path = {}
    for d in docs:
        by_path.setdefault(d.path, []).append((d.kind, d.symbol, d.start_line, d.end_line))
    assert by_path["point.rs"] == [
        ("block", "", 1, 2),
        ("class", "Point", 3, 6),
        ("class", "Point", 8, 8),  # impl header: up to its first fn
        ("method", "Point.new", 9, 12),  # clamp stays inside
        ("class", "Point", 15, 15),
        ("method", "Point.fmt", 16, 18),
        ("class", "Shape", 21, 22),  # the bodiless signature stays with the trait
        ("method", "Shape.describe", 23, 23),
        ("block", "", 25, 26),
        ("function", "tests.works", 27, 28),
        ("block", "", 29, 29),
    ]
    assert by_path["shapes.go"] == [
        ("block", "", 1, 4),
        ("class", "Circle", 5, 7),  # blank line 8 makes no block
        ("class", "Shape", 9, 11),
        ("block", "", 12, 14),
        ("method", "Circle.Area", 15, 17),
        ("method", "Circle.String", 19, 19),
        ("function", "New", 21, 23),
    ]
    kinds = {path: sorted({k for k, *_ in chunks}) for path, chunks in by_path.items()}
    assert kinds == {
        "Invoice.cs": ["block", "class", "method"],
        "Order.java": ["block", "class", "method"],
        "User.php": ["block", "class", "function", "method"],
        "invoice.rb": ["block", "class", "function", "method"],
        "point.rs": ["block", "class", "function", "method"],
        "shape.cpp": ["block", "class", "function", "method"],
        "shapes.go": ["block", "class", "function", "method"],
        "util.c": ["block", "class", "function"],
        "w.py": ["block", "class", "function", "method"],
    }
    # Every chunk's text starts with its path (and symbol) then the lines it covers.
    go_area = next(d for d in docs if d.symbol == "Circle.Area")
    assert go_area.text.splitlines()[:3] == [
        "shapes.go", "Circle.Area", "func (c *Circle) Area() float64 {"]


@pytest.mark.parametrize("ext", sorted(SOURCE_EXTENSIONS))
def test_every_extension_parses(ext):
    # Each grammar loads; an empty file has no definitions.
    assert definitions(f"empty{ext}", "") == []
