"""Reference resolution on small multi-file projects, one per language, written for these
tests (tests/fixtures/graph/<language>): calls through relative, aliased and re-exported
imports, self/this calls into the class and its bases, inheritance across files, name
collisions the imports decide, recursion, dynamic calls left unresolved, and edits that
add and remove edges, including edges from files that did not change."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import write_tree

import codesift
from codesift.graph.query import TYPES
from codesift.graph.resolve import Resolver
from codesift.graph.symtab import SymbolTable
from codesift.graph.symtab_lazy import LazySymbolTable
from codesift.ingest.parse import parse_source
from codesift.store.sqlite_graph import GraphTables

FIXTURES = Path(__file__).parent / "fixtures" / "graph"


@dataclass(frozen=True)
class Spec:
    """What one fixture project must resolve to. Paths are relative to `prefix`."""

    # Every resolved edge, grouped by source below: "src_path src kind dst_path dst
    # [confidence]" ("-": module level; confidence 1.0 when left out), then "<- as written".
    edges: str
    dynamic: tuple[tuple[str, str, str], ...]  # (path, source, call) that must stay unresolved
    recursive: tuple[str, str]
    mutual: tuple[str, str, str]  # (path, a, b): a calls b, b calls a
    inherits: tuple[str, str, str, str]  # (path, subclass, path, base)
    # (path, text, renamed text, definition, caller path, caller) for the incremental test
    rename: tuple[str, str, str, str, str, str]
    prefix: str = ""


SPECS = {
    "python": Spec(
        edges=r"""
    main.py - imports shop/pricing.py -  <- shop.pricing as pr
    main.py - imports shop/util/numbers.py -  <- shop.util.numbers
    main.py - imports shop/orders.py shop.orders.Order  <- shop:Order
    main.py - imports shop/util/text.py shop.util.text.slugify  <- shop:make_slug
    main.py - imports shop/util/text.py shop.util.text.parse  <- shop.util.text:parse
    main.py main.Receipt inherits shop/base.py shop.base.Model  <- shop.base.Model
    main.py main.Receipt.render calls shop/base.py shop.base.Model.save  <- self.save
    main.py main.Invoice references shop/orders.py shop.orders.Order  <- Order
    main.py main.ship references shop/orders.py shop.orders.Order  <- Order
    main.py main.ship references main.py main.Invoice  <- Invoice
    main.py main.ship references shop/base.py shop.base.Model  <- shop.base.Model
    main.py main.main calls shop/orders.py shop.orders.Order  <- Order
    main.py main.main calls shop/orders.py shop.orders.Order.checkout 0.4  <- order.checkout
    main.py main.main calls shop/util/text.py shop.util.text.slugify  <- make_slug
    main.py main.main calls shop/orders.py shop.orders.Order.label 0.4  <- order.label
    main.py main.main calls shop/util/text.py shop.util.text.parse  <- parse
    main.py main.main calls shop/pricing.py shop.pricing.factorial  <- pr.factorial
    main.py main.main calls shop/util/numbers.py shop.util.numbers.net  <- shop.util.numbers.net
    main.py main.main calls main.py main.Receipt.render 0.2  <- doc.render
    main.py main.main calls main.py main.Invoice.render 0.2  <- doc.render
    shop/__init__.py - imports shop/orders.py shop.orders.Order  <- .orders:Order
    shop/__init__.py - imports shop/util/text.py shop.util.text.slugify  <- .util.text:slugify as make_slug
    shop/base.py shop.base.Model.save calls shop/base.py shop.base.Model.validate  <- self.validate
    shop/base.py shop.base.Model.save calls shop/base.py shop.base.Model.serialize  <- self.serialize
    shop/legacy.py shop.legacy.legacy_total calls shop/util/numbers.py shop.util.numbers.parse 0.3  <- parse
    shop/legacy.py shop.legacy.legacy_total calls shop/util/text.py shop.util.text.parse 0.3  <- parse
    shop/orders.py - imports shop/pricing.py -  <- .:pricing
    shop/orders.py - imports shop/base.py shop.base.Model  <- .base:Model
    shop/orders.py - imports shop/util/text.py -  <- .util:text as T
    shop/orders.py - imports shop/util/numbers.py shop.util.numbers.parse  <- .util.numbers:parse as parse_amount
    shop/orders.py shop.orders.Order inherits shop/base.py shop.base.Model  <- Model
    shop/orders.py shop.orders.Order.total calls shop/util/numbers.py shop.util.numbers.parse  <- parse_amount
    shop/orders.py shop.orders.Order.total calls shop/pricing.py shop.pricing.apply_discount  <- pricing.apply_discount
    shop/orders.py shop.orders.Order.total calls shop/orders.py shop.orders.Order.subtotal  <- self.subtotal
    shop/orders.py shop.orders.Order.label calls shop/util/text.py shop.util.text.slugify  <- T.slugify
    shop/orders.py shop.orders.Order.label calls shop/orders.py shop.orders.Order.describe  <- self.describe
    shop/orders.py shop.orders.Order.validate calls shop/base.py shop.base.Model.validate  <- super().validate
    shop/orders.py shop.orders.Order.checkout calls shop/base.py shop.base.Model.save  <- self.save
    shop/orders.py shop.orders.Order.merge references shop/orders.py shop.orders.Order  <- Order
    shop/orders.py shop.orders.Order.merge references shop/base.py shop.base.Model  <- Model
    shop/pricing.py shop.pricing.apply_discount calls shop/pricing.py shop.pricing.discount_for  <- discount_for
    shop/pricing.py shop.pricing.factorial calls shop/pricing.py shop.pricing.factorial  <- factorial
    shop/pricing.py shop.pricing.is_even calls shop/pricing.py shop.pricing.is_odd  <- is_odd
    shop/pricing.py shop.pricing.is_odd calls shop/pricing.py shop.pricing.is_even  <- is_even
    shop/util/numbers.py - imports shop/pricing.py shop.pricing.discount_for  <- ..pricing:discount_for
    shop/util/numbers.py shop.util.numbers.net calls shop/util/numbers.py shop.util.numbers.parse  <- parse
    shop/util/numbers.py shop.util.numbers.net calls shop/util/numbers.py shop.util.numbers.net.strip  <- strip
    shop/util/numbers.py shop.util.numbers.net calls shop/pricing.py shop.pricing.discount_for  <- discount_for
    shop/util/text.py shop.util.text.slugify calls shop/util/text.py shop.util.text.parse  <- parse
""",
        dynamic=(("shop/orders.py", "shop.orders.Order.run_hook", "getattr(self, name)"),
                 ("shop/orders.py", "shop.orders.Order.each_line", "callback"),),
        recursive=("shop/pricing.py", "shop.pricing.factorial"),
        mutual=("shop/pricing.py", "shop.pricing.is_even", "shop.pricing.is_odd"),
        inherits=("shop/orders.py", "shop.orders.Order", "shop/base.py", "shop.base.Model"),
        rename=("shop/pricing.py", "def apply_discount(", "def apply_rebate(",
                "shop.pricing.apply_discount", "shop/orders.py", "shop.orders.Order.total"),
    ),
    "javascript": Spec(
        edges=r"""
    main.js - imports src/cart.js Cart  <- ./src:Cart
    main.js - imports src/format.js money  <- ./src:money
    main.js - imports src/store/index.js Store  <- ./src:Store
    main.js - imports src/report/summary.js total  <- ./src/report/summary:total
    main.js - imports src/report/pdf.js PdfReport  <- ./src/report/pdf:default as Pdf
    main.js - imports src/math.js -  <- ./src/math.js:* as math
    main.js main calls src/cart.js Cart  <- Cart
    main.js main calls src/store/index.js Store  <- Store
    main.js main calls src/store/index.js Store.open 0.4  <- store.open
    main.js main calls src/format.js money  <- money
    main.js main calls src/report/summary.js total  <- total
    main.js main calls src/math.js fib  <- math.fib
    main.js main calls src/report/pdf.js PdfReport.print 0.4  <- new Pdf().print
    main.js main calls src/report/pdf.js PdfReport  <- Pdf
    main.js - calls main.js main  <- main
    src/base.js Model.save calls src/base.js Model.validate  <- this.validate
    src/base.js Model.save calls src/base.js Model.serialize  <- this.serialize
    src/cart.js - imports src/base.js Model  <- ./base:Model
    src/cart.js - imports src/format.js -  <- ./format:* as fmt
    src/cart.js - imports src/math.js total  <- ./math:total as sumAll
    src/cart.js - imports src/math.js clamp  <- ./math:clamp
    src/cart.js - imports src/log.js -  <- ./log as log
    src/cart.js Cart inherits src/base.js Model  <- Model
    src/cart.js Cart.constructor calls src/base.js Model  <- super
    src/cart.js Cart.add calls src/log.js write  <- log.write
    src/cart.js Cart.add calls src/cart.js Cart.checkout  <- this.checkout
    src/cart.js Cart.checkout calls src/base.js Model.save  <- this.save
    src/cart.js Cart.checkout calls src/format.js money  <- fmt.money
    src/cart.js Cart.checkout calls src/math.js clamp  <- clamp
    src/cart.js Cart.checkout calls src/math.js total  <- sumAll
    src/cart.js Cart.validate calls src/base.js Model.validate  <- super.validate
    src/format.js percent calls src/format.js money  <- money
    src/index.js - imports src/cart.js Cart  <- ./cart:Cart
    src/index.js - imports src/format.js -  <- ./format:*
    src/index.js - imports src/store/index.js Store  <- ./store:default as Store
    src/log.js write calls src/log.js format  <- format
    src/math.js fib calls src/math.js fib  <- fib
    src/math.js isEven calls src/math.js isOdd  <- isOdd
    src/math.js isOdd calls src/math.js isEven  <- isEven
    src/report/pdf.js - imports src/report/pdf.js PdfReport  <- :PdfReport as default
    src/report/summary.js render calls main.js Page.render 0.2  <- view.render
    src/report/summary.js render calls main.js Dialog.render 0.2  <- view.render
    src/store/index.js - imports src/cart.js Cart  <- ../cart:Cart
    src/store/index.js - imports src/log.js write  <- ../log:write as write
    src/store/index.js Store.open calls src/log.js write  <- write
    src/store/index.js Store.open calls src/cart.js Cart  <- Cart
""",
        dynamic=(("src/cart.js", "Cart.each", "callback"),
                 ("src/cart.js", "Cart.run", "this[name]"),),
        recursive=("src/math.js", "fib"),
        mutual=("src/math.js", "isEven", "isOdd"),
        inherits=("src/cart.js", "Cart", "src/base.js", "Model"),
        rename=("src/format.js", "function money(", "function cash(", "money", "src/cart.js",
                "Cart.checkout"),
    ),
    "typescript": Spec(
        edges=r"""
    src/main.ts - imports src/shapes/circle.ts Circle  <- ./shapes:Circle
    src/main.ts - imports src/shapes/square.ts Square  <- ./shapes:Box
    src/main.ts - imports src/shapes/shape.ts Shape  <- ./shapes:Shape
    src/main.ts - imports src/util/format.ts square  <- ./util/format:square
    src/main.ts - imports src/util/math.ts -  <- ./util/math:* as m
    src/main.ts report calls src/util/format.ts square  <- square
    src/main.ts report calls src/shapes/shape.ts Shape.name 0.1333  <- s.name
    src/main.ts report calls src/shapes/shape.ts BaseShape.name 0.1333  <- s.name
    src/main.ts report calls src/shapes/square.ts Square.name 0.1333  <- s.name
    src/main.ts report references src/shapes/shape.ts Shape  <- Shape
    src/main.ts pick references src/shapes/circle.ts Circle  <- Circle
    src/main.ts pick references src/shapes/square.ts Square  <- Box
    src/main.ts pick references src/shapes/shape.ts Shape  <- Shape
    src/main.ts main calls src/shapes/circle.ts Circle  <- Circle
    src/main.ts main calls src/shapes/square.ts Square  <- Box
    src/main.ts main calls src/main.ts report  <- report
    src/main.ts main calls src/util/math.ts gcd  <- m.gcd
    src/main.ts main calls src/util/math.ts apply  <- m.apply
    src/main.ts main calls src/shapes/circle.ts Circle.area 0.1  <- c.area
    src/main.ts main calls src/shapes/shape.ts Shape.area 0.1  <- c.area
    src/main.ts main calls src/shapes/shape.ts BaseShape.area 0.1  <- c.area
    src/main.ts main calls src/shapes/square.ts Square.area 0.1  <- c.area
    src/report.ts - imports src/util/format.ts -  <- ./util/format as fmt
    src/report.ts - imports src/shapes/shape.ts Shape  <- ./shapes:Shape
    src/report.ts caption calls src/util/format.ts square  <- fmt.square
    src/report.ts caption calls src/shapes/shape.ts Shape.name  <- shape.name
    src/report.ts caption references src/shapes/shape.ts Shape  <- Shape
    src/shapes/circle.ts - imports src/shapes/shape.ts BaseShape  <- ./shape:BaseShape
    src/shapes/circle.ts - imports src/util/math.ts square  <- ../util/math:square as sq
    src/shapes/circle.ts Circle inherits src/shapes/shape.ts BaseShape  <- BaseShape
    src/shapes/circle.ts Circle.constructor calls src/shapes/shape.ts BaseShape  <- super
    src/shapes/circle.ts Circle.area calls src/util/math.ts square  <- sq
    src/shapes/circle.ts Circle.label calls src/shapes/shape.ts BaseShape.describe  <- this.describe
    src/shapes/index.ts - imports src/shapes/circle.ts Circle  <- ./circle:Circle
    src/shapes/index.ts - imports src/shapes/square.ts Square  <- ./square:Square as Box
    src/shapes/index.ts - imports src/shapes/shape.ts -  <- ./shape:*
    src/shapes/shape.ts BaseShape implements src/shapes/shape.ts Shape  <- Shape
    src/shapes/shape.ts BaseShape.describe calls src/shapes/shape.ts BaseShape.name  <- this.name
    src/shapes/shape.ts BaseShape.describe calls src/shapes/shape.ts BaseShape.area  <- this.area
    src/shapes/square.ts - imports src/shapes/shape.ts Shape  <- ./shape:Shape
    src/shapes/square.ts - imports src/util/math.ts square  <- ../util/math:square
    src/shapes/square.ts Square implements src/shapes/shape.ts Shape  <- Shape
    src/shapes/square.ts Square.area calls src/util/math.ts square  <- square
    src/util/math.ts gcd calls src/util/math.ts gcd  <- gcd
    src/util/math.ts ping calls src/util/math.ts pong  <- pong
    src/util/math.ts pong calls src/util/math.ts ping  <- ping
""",
        dynamic=(("src/util/math.ts", "apply", "fn"),),
        recursive=("src/util/math.ts", "gcd"),
        mutual=("src/util/math.ts", "ping", "pong"),
        inherits=("src/shapes/circle.ts", "Circle", "src/shapes/shape.ts", "BaseShape"),
        rename=("src/util/math.ts", "function gcd(", "function hcf(", "gcd", "src/main.ts", "main"),
    ),
    "go": Spec(
        edges=r"""
    cmd/shop/main.go - imports format/format.go -  <- example.com/shop/format as f
    cmd/shop/main.go - imports store/base.go -  <- example.com/shop/store
    cmd/shop/main.go main.app references store/cart.go store.Cart  <- store.Cart
    cmd/shop/main.go main.newApp references store/cart.go store.Cart  <- store.Cart
    cmd/shop/main.go main.newApp references cmd/shop/main.go main.app  <- app
    cmd/shop/main.go main.run references store/base.go store.Saver  <- store.Saver
    cmd/shop/main.go main.run calls store/base.go store.(*Base).Save 0.4  <- s.Save
    cmd/shop/main.go main.main calls store/cart.go store.NewCart  <- store.NewCart
    cmd/shop/main.go main.main calls store/cart.go store.(*Cart).Add 0.4  <- cart.Add
    cmd/shop/main.go main.main calls format/format.go format.Money  <- f.Money
    cmd/shop/main.go main.main calls store/util.go store.Parse  <- store.Parse
    cmd/shop/main.go main.main calls cmd/shop/main.go main.run  <- run
    store/base.go store.(*Base).Save calls store/base.go store.(*Base).bump  <- b.bump
    store/cart.go - imports format/format.go -  <- example.com/shop/format
    store/cart.go store.Cart inherits store/base.go store.Base  <- Base
    store/cart.go store.NewCart references store/cart.go store.Cart  <- Cart
    store/cart.go store.(*Cart).Add calls store/util.go store.normalize  <- normalize
    store/cart.go store.(*Cart).Add calls store/cart.go store.(*Cart).touch  <- c.touch
    store/cart.go store.(*Cart).Add calls store/base.go store.(*Base).Save  <- c.Save
    store/cart.go store.(*Cart).touch calls format/format.go format.Parse  <- format.Parse
    store/util.go store.normalize calls store/util.go store.normalize  <- normalize
    store/util.go store.even calls store/util.go store.odd  <- odd
    store/util.go store.odd calls store/util.go store.even  <- even
""",
        dynamic=(("store/cart.go", "store.(*Cart).Each", "fn"),),
        recursive=("store/util.go", "store.normalize"),
        mutual=("store/util.go", "store.even", "store.odd"),
        inherits=("store/cart.go", "store.Cart", "store/base.go", "store.Base"),
        rename=("store/cart.go", "func NewCart(", "func MakeCart(", "store.NewCart",
                "cmd/shop/main.go", "main.main"),
    ),
    "java": Spec(
        edges=r"""
    App.java - imports model/Order.java com.acme.shop.model.Order  <- com.acme.shop.model.Order
    App.java - imports util/Numbers.java -  <- com.acme.shop.util.*
    App.java com.acme.shop.App.main calls model/Order.java com.acme.shop.model.Order  <- Order
    App.java com.acme.shop.App.main calls model/Order.java com.acme.shop.model.Order.checkout 0.4  <- order.checkout
    App.java com.acme.shop.App.main calls util/Numbers.java com.acme.shop.util.Numbers.factorial  <- Numbers.factorial
    App.java com.acme.shop.App.main calls model/Order.java com.acme.shop.model.Order.total 0.4  <- order.total
    App.java com.acme.shop.App.main calls util/Text.java com.acme.shop.util.Text.slug  <- Text.slug
    App.java com.acme.shop.App.main calls model/Entity.java com.acme.shop.model.Entity.id 0.2  <- order.id
    App.java com.acme.shop.App.main calls model/Order.java com.acme.shop.model.Order.id 0.2  <- order.id
    App.java com.acme.shop.App.main references model/Order.java com.acme.shop.model.Order  <- Order
    App.java com.acme.shop.App.first references model/Order.java com.acme.shop.model.Order  <- Order
    App.java com.acme.shop.App.first references util/Text.java com.acme.shop.util.Text  <- Text
    model/Model.java com.acme.shop.model.Model implements model/Entity.java com.acme.shop.model.Entity  <- Entity
    model/Model.java com.acme.shop.model.Model.save calls model/Model.java com.acme.shop.model.Model.validate  <- validate
    model/Model.java com.acme.shop.model.Model.save calls model/Model.java com.acme.shop.model.Model.store  <- this.store
    model/Model.java com.acme.shop.model.Model.store calls model/Audit.java com.acme.shop.model.Audit.record  <- Audit.record
    model/Model.java com.acme.shop.model.Model.store calls model/Entity.java com.acme.shop.model.Entity.id  <- id
    model/Rules.java com.acme.shop.model.Rules.evenTotal calls util/Numbers.java com.acme.shop.util.Numbers.isEven  <- isEven
    model/Rules.java com.acme.shop.model.Rules.evenTotal calls model/Order.java com.acme.shop.model.Order.total  <- order.total
    model/Rules.java com.acme.shop.model.Rules.evenTotal references model/Order.java com.acme.shop.model.Order  <- Order
    model/Order.java - imports util/Text.java com.acme.shop.util.Text  <- com.acme.shop.util.Text
    model/Order.java - imports util/Numbers.java com.acme.shop.util.Numbers.parse  <- com.acme.shop.util.Numbers.parse
    model/Order.java com.acme.shop.model.Order inherits model/Model.java com.acme.shop.model.Model  <- Model
    model/Order.java com.acme.shop.model.Order.id calls util/Text.java com.acme.shop.util.Text.slug  <- Text.slug
    model/Order.java com.acme.shop.model.Order.total calls util/Numbers.java com.acme.shop.util.Numbers.parse  <- parse
    model/Order.java com.acme.shop.model.Order.checkout calls model/Model.java com.acme.shop.model.Model.save  <- save
    model/Order.java com.acme.shop.model.Order.checkout calls model/Order.java com.acme.shop.model.Order.validate  <- this.validate
    model/Order.java com.acme.shop.model.Order.validate calls model/Model.java com.acme.shop.model.Model.validate  <- super.validate
    util/Numbers.java com.acme.shop.util.Numbers.factorial calls util/Numbers.java com.acme.shop.util.Numbers.factorial  <- factorial
    util/Numbers.java com.acme.shop.util.Numbers.isEven calls util/Numbers.java com.acme.shop.util.Numbers.isOdd  <- isOdd
    util/Numbers.java com.acme.shop.util.Numbers.isOdd calls util/Numbers.java com.acme.shop.util.Numbers.isEven  <- isEven
    util/Text.java com.acme.shop.util.Text.slug calls util/Text.java com.acme.shop.util.Text.parse  <- parse
""",
        dynamic=(("model/Order.java", "com.acme.shop.model.Order.each", "callback.accept"),),
        recursive=("util/Numbers.java", "com.acme.shop.util.Numbers.factorial"),
        mutual=("util/Numbers.java", "com.acme.shop.util.Numbers.isEven",
                "com.acme.shop.util.Numbers.isOdd"),
        inherits=("model/Order.java", "com.acme.shop.model.Order", "model/Model.java",
                  "com.acme.shop.model.Model"),
        rename=("util/Numbers.java", "long factorial(", "long fact(",
                "com.acme.shop.util.Numbers.factorial", "App.java", "com.acme.shop.App.main"),
        prefix="src/main/java/com/acme/shop/",
    ),
    "rust": Spec(
        edges=r"""
    src/lib.rs - imports src/shapes/circle.rs Circle  <- crate::shapes::circle::Circle
    src/lib.rs - imports src/shapes/square.rs Square  <- shapes::square::Square as Block
    src/lib.rs - imports src/shapes/mod.rs Shape  <- crate::shapes::Shape
    src/lib.rs total_area calls src/shapes/circle.rs Circle::area 0.1333  <- s.area
    src/lib.rs total_area calls src/shapes/mod.rs Shape::area 0.1333  <- s.area
    src/lib.rs total_area calls src/shapes/square.rs Square::area 0.1333  <- s.area
    src/lib.rs total_area references src/shapes/mod.rs Shape  <- Shape
    src/lib.rs pair references src/shapes/circle.rs Circle  <- Circle
    src/lib.rs pair references src/shapes/square.rs Square  <- Block
    src/lib.rs demo calls src/shapes/circle.rs Circle::new  <- Circle::new
    src/lib.rs demo calls src/shapes/square.rs Square::new  <- Block::new
    src/lib.rs demo calls src/shapes/mod.rs Shape::describe 0.4  <- c.describe
    src/lib.rs demo calls src/math.rs gcd  <- math::gcd
    src/lib.rs demo calls src/lib.rs total_area  <- total_area
    src/math.rs gcd calls src/math.rs gcd  <- gcd
    src/math.rs ping calls src/math.rs pong  <- pong
    src/math.rs pong calls src/math.rs ping  <- ping
    src/shapes/circle.rs - imports src/shapes/mod.rs Named  <- super::Named
    src/shapes/circle.rs - imports src/shapes/mod.rs Shape  <- super::Shape
    src/shapes/circle.rs - imports src/math.rs square  <- crate::math::square as sq
    src/shapes/circle.rs Circle::new calls src/shapes/circle.rs Circle::checked  <- Self::checked
    src/shapes/circle.rs Circle::checked references src/shapes/circle.rs Circle  <- Circle
    src/shapes/circle.rs Circle implements src/shapes/mod.rs Named  <- Named
    src/shapes/circle.rs Circle implements src/shapes/mod.rs Shape  <- Shape
    src/shapes/circle.rs Circle::area calls src/math.rs square  <- sq
    src/shapes/mod.rs Shape inherits src/shapes/mod.rs Named  <- Named
    src/shapes/square.rs - imports src/math.rs -  <- crate::math
    src/shapes/square.rs - imports src/shapes/mod.rs Named  <- crate::shapes::Named
    src/shapes/square.rs - imports src/shapes/mod.rs Shape  <- crate::shapes::Shape
    src/shapes/square.rs square calls src/shapes/square.rs Square::new  <- Square::new
    src/shapes/square.rs square references src/shapes/square.rs Square  <- Square
    src/shapes/square.rs Square::new references src/shapes/square.rs Square  <- Square
    src/shapes/square.rs Square::grow calls src/shapes/square.rs Square::scaled  <- self.scaled
    src/shapes/square.rs Square::scaled calls src/math.rs apply  <- math::apply
    src/shapes/square.rs Square implements src/shapes/mod.rs Named  <- Named
    src/shapes/square.rs Square implements src/shapes/mod.rs Shape  <- Shape
    src/shapes/square.rs Square::area calls src/math.rs square  <- math::square
""",
        dynamic=(("src/math.rs", "apply", "f"),),
        recursive=("src/math.rs", "gcd"),
        mutual=("src/math.rs", "ping", "pong"),
        inherits=("src/shapes/circle.rs", "Circle", "src/shapes/mod.rs", "Shape"),
        rename=("src/math.rs", "fn gcd(", "fn hcf(", "gcd", "src/lib.rs", "demo"),
    ),
    "cpp": Spec(
        edges=r"""
    src/geo/circle.cpp - imports src/geo/circle.hpp -  <- circle.hpp
    src/geo/circle.cpp - imports src/util/math.hpp -  <- ../util/math.hpp
    src/geo/circle.cpp geo::Circle::area calls src/util/math.hpp util::square  <- util::square
    src/geo/circle.cpp geo::Circle::summary calls src/geo/shape.cpp geo::Shape::describe  <- this->describe
    src/geo/circle.hpp - imports src/geo/shape.hpp -  <- shape.hpp
    src/geo/circle.hpp geo::Circle inherits src/geo/shape.hpp geo::Shape  <- Shape
    src/geo/shape.cpp - imports src/geo/shape.hpp -  <- shape.hpp
    src/geo/shape.cpp - imports src/util/format.hpp -  <- ../util/format.hpp
    src/geo/shape.cpp geo::Shape::describe calls src/util/format.hpp util::label  <- util::label
    src/main.cpp - imports src/geo/circle.hpp -  <- geo/circle.hpp
    src/main.cpp - imports src/util/math.hpp -  <- util/math.hpp
    src/main.cpp main calls src/geo/circle.cpp geo::Circle::summary 0.4  <- c.summary
    src/main.cpp main calls src/util/math.hpp util::factorial  <- util::factorial
    src/main.cpp main calls src/util/math.cpp util::is_even 0.9  <- util::is_even
    src/util/format.hpp util::label calls src/util/format.hpp util::square  <- square
    src/util/math.cpp - imports src/util/math.hpp -  <- math.hpp
    src/util/math.cpp util::is_even calls src/util/math.cpp util::is_odd  <- is_odd
    src/util/math.cpp util::is_odd calls src/util/math.cpp util::is_even  <- is_even
    src/util/math.hpp util::factorial calls src/util/math.hpp util::factorial  <- factorial
""",
        dynamic=(("src/util/format.hpp", "util::apply", "fn"),),
        recursive=("src/util/math.hpp", "util::factorial"),
        mutual=("src/util/math.cpp", "util::is_even", "util::is_odd"),
        inherits=("src/geo/circle.hpp", "geo::Circle", "src/geo/shape.hpp", "geo::Shape"),
        rename=("src/util/format.hpp", "std::string label(", "std::string tag(", "util::label",
                "src/geo/shape.cpp", "geo::Shape::describe"),
    ),
    "csharp": Spec(
        edges=r"""
    Shop/Models/Model.cs Shop.Models.Model implements Shop/Models/IEntity.cs Shop.Models.IEntity  <- IEntity
    Shop/Models/Model.cs Shop.Models.Model.Save calls Shop/Models/Model.cs Shop.Models.Model.Validate  <- Validate
    Shop/Models/Model.cs Shop.Models.Model.Save calls Shop/Models/Model.cs Shop.Models.Model.Store  <- this.Store
    Shop/Models/Model.cs Shop.Models.Model.Store calls Shop/Models/Audit.cs Shop.Models.Audit.Record  <- Audit.Record
    Shop/Models/Model.cs Shop.Models.Model.Store calls Shop/Models/Model.cs Shop.Models.Model.Id  <- Id
    Shop/Models/Order.cs - imports Shop/Util/Numbers.cs -  <- Shop.Util
    Shop/Models/Order.cs - imports Shop/Util/Numbers.cs Shop.Util.Numbers  <- Shop.Util.Numbers as Num
    Shop/Models/Order.cs Shop.Models.Order inherits Shop/Models/Model.cs Shop.Models.Model  <- Model
    Shop/Models/Order.cs Shop.Models.Order.Id calls Shop/Util/Text.cs Shop.Util.Text.Slug  <- Text.Slug
    Shop/Models/Order.cs Shop.Models.Order.Total calls Shop/Util/Numbers.cs Shop.Util.Numbers.Parse  <- Num.Parse
    Shop/Models/Order.cs Shop.Models.Order.Checkout calls Shop/Models/Model.cs Shop.Models.Model.Save  <- Save
    Shop/Models/Order.cs Shop.Models.Order.Checkout calls Shop/Models/Order.cs Shop.Models.Order.Validate  <- this.Validate
    Shop/Models/Order.cs Shop.Models.Order.Validate calls Shop/Models/Model.cs Shop.Models.Model.Validate  <- base.Validate
    Shop/Program.cs - imports Shop/Models/Audit.cs -  <- Shop.Models
    Shop/Program.cs - imports Shop/Util/Numbers.cs -  <- Shop.Util
    Shop/Program.cs Shop.Program.Main calls Shop/Models/Order.cs Shop.Models.Order  <- Order
    Shop/Program.cs Shop.Program.Main calls Shop/Models/Order.cs Shop.Models.Order.Checkout 0.4  <- order.Checkout
    Shop/Program.cs Shop.Program.Main calls Shop/Util/Numbers.cs Shop.Util.Numbers.Factorial  <- Numbers.Factorial
    Shop/Program.cs Shop.Program.Main calls Shop/Models/Order.cs Shop.Models.Order.Total 0.4  <- order.Total
    Shop/Program.cs Shop.Program.Main calls Shop/Util/Text.cs Shop.Util.Text.Slug  <- Text.Slug
    Shop/Program.cs Shop.Program.Main calls Shop/Models/IEntity.cs Shop.Models.IEntity.Id 0.1333  <- order.Id
    Shop/Program.cs Shop.Program.Main calls Shop/Models/Model.cs Shop.Models.Model.Id 0.1333  <- order.Id
    Shop/Program.cs Shop.Program.Main calls Shop/Models/Order.cs Shop.Models.Order.Id 0.1333  <- order.Id
    Shop/Program.cs Shop.Program.Find references Shop/Models/IEntity.cs Shop.Models.IEntity  <- IEntity
    Shop/Program.cs Shop.Program.Find references Shop/Models/Order.cs Shop.Models.Order  <- Order
    Shop/Util/Numbers.cs Shop.Util.Numbers.Factorial calls Shop/Util/Numbers.cs Shop.Util.Numbers.Factorial  <- Factorial
    Shop/Util/Numbers.cs Shop.Util.Numbers.IsEven calls Shop/Util/Numbers.cs Shop.Util.Numbers.IsOdd  <- IsOdd
    Shop/Util/Numbers.cs Shop.Util.Numbers.IsOdd calls Shop/Util/Numbers.cs Shop.Util.Numbers.IsEven  <- IsEven
    Shop/Util/Text.cs Shop.Util.Text.Slug calls Shop/Util/Text.cs Shop.Util.Text.Parse  <- Parse
""",
        dynamic=(("Shop/Models/Order.cs", "Shop.Models.Order.Each", "callback"),),
        recursive=("Shop/Util/Numbers.cs", "Shop.Util.Numbers.Factorial"),
        mutual=("Shop/Util/Numbers.cs", "Shop.Util.Numbers.IsEven", "Shop.Util.Numbers.IsOdd"),
        inherits=("Shop/Models/Order.cs", "Shop.Models.Order", "Shop/Models/Model.cs",
                  "Shop.Models.Model"),
        rename=("Shop/Util/Text.cs", "string Slug(", "string Slugify(", "Shop.Util.Text.Slug",
                "Shop/Models/Order.cs", "Shop.Models.Order.Id"),
    ),
    "ruby": Spec(
        edges=r"""
    lib/shop.rb - imports lib/shop/model.rb -  <- ./shop/model
    lib/shop.rb - imports lib/shop/order.rb -  <- ./shop/order
    lib/shop.rb - imports lib/shop/util/text.rb -  <- ./shop/util/text
    lib/shop.rb Shop.checkout calls lib/shop/order.rb Shop::Order  <- Order.new
    lib/shop.rb Shop.checkout calls lib/shop.rb Shop.checkout 0.2  <- order.checkout
    lib/shop.rb Shop.checkout calls lib/shop/order.rb Shop::Order#checkout 0.2  <- order.checkout
    lib/shop.rb Shop.checkout calls lib/shop/util/text.rb Shop::Util::Text.slug  <- Util::Text.slug
    lib/shop.rb Shop.checkout calls lib/shop/order.rb Shop::Order#label 0.4  <- order.label
    lib/shop/model.rb Shop::Persistence#persist calls lib/shop/model.rb Shop::Persistence#write_row  <- write_row
    lib/shop/model.rb Shop::Model implements lib/shop/model.rb Shop::Persistence  <- Persistence
    lib/shop/model.rb Shop::Model#save calls lib/shop/model.rb Shop::Model#validate  <- validate
    lib/shop/model.rb Shop::Model#save calls lib/shop/model.rb Shop::Model#serialize  <- self.serialize
    lib/shop/model.rb Shop::Model#serialize calls lib/shop/model.rb Shop::Persistence#persist  <- persist
    lib/shop/order.rb - imports lib/shop/model.rb -  <- ./model
    lib/shop/order.rb - imports lib/shop/util/numbers.rb -  <- ./util/numbers
    lib/shop/order.rb Shop::Order inherits lib/shop/model.rb Shop::Model  <- Model
    lib/shop/order.rb Shop::Order#checkout calls lib/shop/model.rb Shop::Model#save  <- save
    lib/shop/order.rb Shop::Order#checkout calls lib/shop/order.rb Shop::Order#total  <- total
    lib/shop/order.rb Shop::Order#total calls lib/shop/util/numbers.rb Shop::Util::Numbers.parse  <- Util::Numbers.parse
    lib/shop/order.rb Shop::Order#label calls lib/shop/order.rb Shop::Order#describe  <- describe
    lib/shop/order.rb Shop::Order#validate calls lib/shop/model.rb Shop::Model#validate  <- super
    lib/shop/util/numbers.rb Shop::Util::Numbers.factorial calls lib/shop/util/numbers.rb Shop::Util::Numbers.factorial  <- factorial
    lib/shop/util/numbers.rb Shop::Util::Numbers.even? calls lib/shop/util/numbers.rb Shop::Util::Numbers.odd?  <- odd?
    lib/shop/util/numbers.rb Shop::Util::Numbers.odd? calls lib/shop/util/numbers.rb Shop::Util::Numbers.even?  <- even?
    lib/shop/util/text.rb Shop::Util::Text.slug calls lib/shop/util/text.rb Shop::Util::Text.parse  <- parse
""",
        dynamic=(("lib/shop/order.rb", "Shop::Order#run", "send"),
                 ("lib/shop/order.rb", "Shop::Order#each_line", "block.call"),),
        recursive=("lib/shop/util/numbers.rb", "Shop::Util::Numbers.factorial"),
        mutual=("lib/shop/util/numbers.rb", "Shop::Util::Numbers.even?",
                "Shop::Util::Numbers.odd?"),
        inherits=("lib/shop/order.rb", "Shop::Order", "lib/shop/model.rb", "Shop::Model"),
        rename=("lib/shop/util/text.rb", "def self.slug(", "def self.slugify(",
                "Shop::Util::Text.slug", "lib/shop.rb", "Shop.checkout"),
    ),
    "php": Spec(
        edges=r"""
    src/Model/Model.php Shop\Model\Model implements src/Model/Entity.php Shop\Model\Entity  <- Entity
    src/Model/Model.php Shop\Model\Model::save calls src/Model/Model.php Shop\Model\Model::validate  <- $this->validate
    src/Model/Model.php Shop\Model\Model::save calls src/Model/Model.php Shop\Model\Model::store  <- $this->store
    src/Model/Model.php Shop\Model\Model::store calls src/Model/Audit.php Shop\Model\Audit::record  <- Audit::record
    src/Model/Model.php Shop\Model\Model::store calls src/Model/Entity.php Shop\Model\Entity::id  <- $this->id
    src/Model/Order.php - imports src/Util/Text.php Shop\Util\Text  <- Shop\Util\Text
    src/Model/Order.php - imports src/Util/Numbers.php Shop\Util\Numbers  <- Shop\Util\Numbers as Num
    src/Model/Order.php - imports src/Util/functions.php Shop\Util\money  <- Shop\Util\money
    src/Model/Order.php Shop\Model\Order inherits src/Model/Model.php Shop\Model\Model  <- Model
    src/Model/Order.php Shop\Model\Order::id calls src/Util/Text.php Shop\Util\Text::slug  <- Text::slug
    src/Model/Order.php Shop\Model\Order::total calls src/Util/Numbers.php Shop\Util\Numbers::parse  <- Num::parse
    src/Model/Order.php Shop\Model\Order::checkout calls src/Model/Model.php Shop\Model\Model::save  <- $this->save
    src/Model/Order.php Shop\Model\Order::checkout calls src/Util/functions.php Shop\Util\money  <- money
    src/Model/Order.php Shop\Model\Order::checkout calls src/Model/Order.php Shop\Model\Order::total  <- $this->total
    src/Model/Order.php Shop\Model\Order::validate calls src/Model/Model.php Shop\Model\Model::validate  <- parent::validate
    src/Util/Numbers.php Shop\Util\Numbers::factorial calls src/Util/Numbers.php Shop\Util\Numbers::factorial  <- self::factorial
    src/Util/Numbers.php Shop\Util\Numbers::isEven calls src/Util/Numbers.php Shop\Util\Numbers::isOdd  <- static::isOdd
    src/Util/Numbers.php Shop\Util\Numbers::isOdd calls src/Util/Numbers.php Shop\Util\Numbers::isEven  <- static::isEven
    src/Util/Text.php Shop\Util\Text::slug calls src/Util/Text.php Shop\Util\Text::parse  <- self::parse
    src/Util/functions.php Shop\Util\money calls src/Util/Numbers.php Shop\Util\Numbers::factorial  <- Numbers::factorial
    src/app.php - imports src/Model/Order.php Shop\Model\Order  <- Shop\Model\Order
    src/app.php - imports src/Util/Numbers.php Shop\Util\Numbers  <- Shop\Util\Numbers
    src/app.php - imports src/Util/Text.php Shop\Util\Text  <- Shop\Util\Text
    src/app.php - calls src/Model/Order.php Shop\Model\Order  <- Order
    src/app.php - calls src/Model/Order.php Shop\Model\Order::checkout 0.4  <- $order->checkout
    src/app.php - calls src/Util/Numbers.php Shop\Util\Numbers::factorial  <- Numbers::factorial
    src/app.php - calls src/Model/Order.php Shop\Model\Order::total 0.4  <- $order->total
    src/app.php - calls src/Util/Text.php Shop\Util\Text::slug  <- Text::slug
    src/app.php - calls src/Model/Entity.php Shop\Model\Entity::id 0.2  <- $order->id
    src/app.php - calls src/Model/Order.php Shop\Model\Order::id 0.2  <- $order->id
""",
        dynamic=(("src/Model/Order.php", "Shop\\Model\\Order::each", "$callback"),
                 ("src/Model/Order.php", "Shop\\Model\\Order::each", "call_user_func"),),
        recursive=("src/Util/Numbers.php", "Shop\\Util\\Numbers::factorial"),
        mutual=("src/Util/Numbers.php", "Shop\\Util\\Numbers::isEven",
                "Shop\\Util\\Numbers::isOdd"),
        inherits=("src/Model/Order.php", "Shop\\Model\\Order", "src/Model/Model.php",
                  "Shop\\Model\\Model"),
        rename=("src/Util/Text.php", "function slug(", "function slugify(",
                "Shop\\Util\\Text::slug", "src/Model/Order.php", "Shop\\Model\\Order::id"),
    ),
}
LANGUAGES = sorted(SPECS)


# -- helpers -----------------------------------------------------------------------------

def _expected_edges(spec: Spec) -> dict[tuple[str, str, str], set[tuple[str, str, float]]]:
    """(source path, source, kind) -> {(target path, target, confidence)}."""
    out: dict[tuple[str, str, str], set[tuple[str, str, float]]] = {}
    for line in spec.edges.strip().splitlines():
        fields = line.split("  <- ")[0].split()
        src_path, src, kind, dst_path, dst, *conf = fields
        key = (spec.prefix + src_path, "" if src == "-" else src, kind)
        out.setdefault(key, set()).add(
            (spec.prefix + dst_path, "" if dst == "-" else dst, float(conf[0]) if conf else 1.0))
    return out


def _copy(language: str, dest: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / language, dest / language))


def _open(root: Path, index_dir: Path):
    idx = codesift.open_index(root, index_dir=index_dir, dense=False)
    summary = idx.update()
    assert not summary.parse_failures
    return idx, summary


def _outgoing(graph, path: str, src: str, kind: str) -> set[tuple[str, str, float]]:
    hits = graph.callees([graph.node(path, src)], kinds=(kind,))
    return {(h.node.path, h.node.symbol, round(h.confidence, 4)) for h in hits}


def _callers(graph, path: str, symbol: str, depth: int = 1) -> set[tuple[str, str, int]]:
    hits = graph.callers([graph.node(path, symbol)], depth=depth)
    return {(h.node.path, h.node.symbol, h.depth) for h in hits}


def _unresolved(idx, path: str, src: str) -> list[str]:
    return sorted(r[0] for r in idx.store().db.execute(
        "SELECT e.name FROM edges e JOIN files f ON f.id = e.src_file"
        " WHERE f.path = ? AND e.src = ? AND e.dst_path IS NULL", (path, src)))


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    """Every fixture project indexed once (copies: the incremental tests edit their own)."""
    base = tmp_path_factory.mktemp("graphs")
    opened = {lang: _open(_copy(lang, base / "src"), base / "idx" / lang)[0]
              for lang in LANGUAGES}
    yield opened
    for idx in opened.values():
        idx.close()


# -- every language -------------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_edges_are_exact(language, indexes):
    """Each listed source resolves to exactly these targets: no candidate missing, none
    extra (a name collision resolved by its import leaves the other definition out)."""
    graph = indexes[language].graph()
    for (path, src, kind), targets in _expected_edges(SPECS[language]).items():
        assert _outgoing(graph, path, src, kind) == targets, (path, src, kind)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_edge_is_left_out_of_the_spec(language, indexes):
    expected = _expected_edges(SPECS[language])
    db = indexes[language].store().db
    sources = set(db.execute(
        "SELECT f.path, e.src, e.kind FROM edges e JOIN files f ON f.id = e.src_file"
        " WHERE e.dst_path IS NOT NULL"))
    assert sources == set(expected)


@pytest.mark.parametrize("language", LANGUAGES)
def test_dynamic_calls_stay_unresolved_and_are_counted(language, indexes):
    idx, spec = indexes[language], SPECS[language]
    for path, src, name in spec.dynamic:
        assert name in _unresolved(idx, spec.prefix + path, src)
    counts = GraphTables(idx.store().db).counts()
    n_rows = idx.store().db.execute(
        "SELECT COUNT(*) FROM edges WHERE dst_path IS NULL AND kind = 'calls'").fetchone()[0]
    assert counts["unresolved_calls"] == n_rows >= len(spec.dynamic)


@pytest.mark.parametrize("language", LANGUAGES)
def test_recursion_is_reported_once_and_marked_seen_before(language, indexes):
    spec, graph = SPECS[language], indexes[language].graph()
    path, symbol = spec.recursive
    hits = graph.callees([graph.node(spec.prefix + path, symbol)], depth=4)
    assert {(h.node.symbol, h.depth, h.seen_before) for h in hits} == {(symbol, 1, True)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_mutual_recursion_is_a_cycle_walked_once(language, indexes):
    spec, graph = SPECS[language], indexes[language].graph()
    path, a, b = spec.mutual
    for start, other in ((a, b), (b, a)):
        for walk in (graph.callees, graph.callers):
            hits = walk([graph.node(spec.prefix + path, start)], depth=6)
            assert [(h.node.symbol, h.depth, h.seen_before) for h in hits
                    if h.node.symbol in (a, b)] == [(other, 1, False), (start, 2, True)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_inheritance_across_files(language, indexes):
    spec, graph = SPECS[language], indexes[language].graph()
    sub_path, sub, base_path, base = spec.inherits
    subs = graph.subclasses([graph.node(spec.prefix + base_path, base)])
    assert (spec.prefix + sub_path, sub) in {(h.node.path, h.node.symbol) for h in subs}
    bases = graph.callees([graph.node(spec.prefix + sub_path, sub)], kinds=TYPES)
    assert (spec.prefix + base_path, base, 1.0) in {
        (h.node.path, h.node.symbol, h.confidence) for h in bases}


@pytest.mark.parametrize("language", LANGUAGES)
def test_on_demand_symbol_table_resolves_the_same(language, indexes):
    tables = GraphTables(indexes[language].store().db)
    languages = tables.languages()
    eager = Resolver(SymbolTable(tables.defs(), languages), tables.refs_of)
    lazy = Resolver(LazySymbolTable(tables, languages), tables.refs_of)
    for path in sorted(languages):
        assert sorted(map(repr, lazy.resolve_file(path))) == \
            sorted(map(repr, eager.resolve_file(path))), path


@pytest.mark.parametrize("language", LANGUAGES)
def test_renaming_a_definition_moves_the_edges_of_unchanged_files(language, tmp_path):
    spec = SPECS[language]
    path, text, renamed, symbol, caller_path, caller = spec.rename
    root = _copy(language, tmp_path)
    target, caller_path = (spec.prefix + path, symbol), spec.prefix + caller_path
    edited = root / target[0]

    def callees():
        idx, summary = _open(root, tmp_path / "idx")
        with idx:
            out = {(h.node.path, h.node.symbol) for h in idx.graph().callees(
                [idx.graph().node(caller_path, caller)])}
            return out, summary.graph, _unresolved(idx, caller_path, caller)

    found, _, missing = callees()
    assert target in found
    original = edited.read_text()
    assert text in original
    edited.write_text(original.replace(text, renamed))
    found, graph, now_missing = callees()
    assert target not in found and not graph.full
    assert len(now_missing) == len(missing) + 1  # the call is kept, unresolved
    edited.write_text(original)
    found, graph, now_missing = callees()
    assert target in found and now_missing == missing and not graph.full


# -- what the parser records for resolution -------------------------------------------------

def test_javascript_require_binds_what_the_declaration_names():
    src = ("const a = require('./a');\nconst { b, c: d } = require('./b');\n"
           "const e = require('./e').f;\nrequire('./side');\nexport default a;\n")
    parsed = parse_source("x.js", src, "javascript")
    assert [r.name for r in parsed.references if r.kind == "import"] == [
        "./a as a", "./b:b", "./b:c as d", "./e:f as e", "./side", ":a as default"]


def test_ruby_bare_names_are_calls_unless_they_are_locals():
    src = ("class A\n  def f(x)\n    y = 1\n    x\n    y\n    save\n"
           "    x && persist\n    [1].each { |i| i }\n  end\nend\n")
    parsed = parse_source("a.rb", src, "ruby")
    assert [r.name for r in parsed.references if r.kind == "call"] == ["save", "persist",
                                                                        "[1].each"]


def test_a_called_call_keeps_its_arguments():
    parsed = parse_source("m.py", "def f(o, n):\n    return getattr(o, n)()\n", "python")
    assert [r.name for r in parsed.references] == ["getattr(o, n)", "getattr"]


# A type use is recorded once per enclosing definition, with its generic arguments and
# qualified names; builtin types, `Self` and single-letter type parameters are not.
TYPE_USES = {
    "python": ("m.py", """
from typing import Literal
def f(a: Foo, b: mod.Bar = None, *c: "Fwd", d: Optional[list[Foo]] | None = None,
      e: Literal["rw", "ro"] = "rw", f: int = 0) -> dict[str, T]:
    x: Foo = a
class C:
    field: Baz
""", [("Foo", 3, "m.f"), ("mod.Bar", 3, "m.f"), ("Fwd", 3, "m.f"), ("Baz", 7, "m.C")]),
    "typescript": ("m.ts", """
function f<T>(a: Foo, b: ns.Bar<Baz[]>, c: (x: Qux) => T): Foo | null {
  return new Map<string, Val>();
}
""", [("Foo", 2, "f"), ("ns.Bar", 2, "f"), ("Baz", 2, "f"), ("Qux", 2, "f"),
      ("Val", 3, "f")]),
    "java": ("M.java", """
class M<T> {
  private List<Foo> xs;
  Foo get(a.b.Bar p, T t, int n) throws Oops { var v = new Box<Val>(); return null; }
}
""", [("List", 3, "M"), ("Foo", 3, "M"), ("Foo", 4, "M.get"), ("a.b.Bar", 4, "M.get"),
      ("Oops", 4, "M.get"), ("Val", 4, "M.get")]),
    "go": ("m.go", """
package m
type S struct {
	Base
	a *pkg.Foo
	n int
}
func (s *S) Get(x Foo, ys ...[]Bar) (Foo, error) { return Foo{}, nil }
""", [("pkg.Foo", 5, "m.S"), ("Foo", 8, "m.(*S).Get"), ("Bar", 8, "m.(*S).Get")]),
    "rust": ("m.rs", """
struct Pt { a: Vec<crate::m::Foo>, b: Box<dyn Tr>, n: u32 }
impl Pt {
    fn get(&self, x: &Foo) -> Self { Pt { n: 1 } }
}
""", [("Vec", 2, "Pt"), ("crate::m::Foo", 2, "Pt"), ("Box", 2, "Pt"), ("Tr", 2, "Pt"),
      ("Foo", 4, "Pt::get"), ("Pt", 4, "Pt::get")]),
}


@pytest.mark.parametrize("language", sorted(TYPE_USES))
def test_type_uses_are_recorded_once_per_definition(language):
    path, src, expected = TYPE_USES[language]
    parsed = parse_source(path, src, language)
    assert parsed.error is None
    assert [(r.name, r.line, r.scope) for r in parsed.references
            if r.kind == "reference"] == expected


# -- Python in depth: queries ---------------------------------------------------------------

PRICING = "shop/pricing.py"


def test_callers_respect_the_depth_limit(indexes):
    graph = indexes["python"].graph()
    near = {("shop/pricing.py", "shop.pricing.apply_discount", 1),
            ("shop/util/numbers.py", "shop.util.numbers.net", 1)}
    assert _callers(graph, PRICING, "shop.pricing.discount_for", depth=1) == near
    assert _callers(graph, PRICING, "shop.pricing.discount_for", depth=2) == near | {
        ("shop/orders.py", "shop.orders.Order.total", 2), ("main.py", "main.main", 2)}
    with pytest.raises(codesift.CodesiftError):
        graph.callers([graph.node(PRICING, "shop.pricing.discount_for")], depth=0)


def test_shortest_call_path_crosses_files(indexes):
    graph = indexes["python"].graph()
    trail = graph.path([graph.node("main.py", "main.main")],
                       [graph.node(PRICING, "shop.pricing.discount_for")])
    assert [(h.node.symbol, h.depth) for h in trail] == [
        ("main.main", 0), ("shop.util.numbers.net", 1), ("shop.pricing.discount_for", 2)]
    assert graph.path([graph.node("main.py", "main.main")],
                      [graph.node(PRICING, "shop.pricing.discount_for")], max_depth=1) == []


def test_ambiguous_names_keep_every_candidate_with_shared_confidence(indexes):
    graph = indexes["python"].graph()
    # parse() with no import: two modules define it, neither is picked at random
    legacy = _outgoing(graph, "shop/legacy.py", "shop.legacy.legacy_total", "calls")
    assert legacy == {("shop/util/numbers.py", "shop.util.numbers.parse", 0.3),
                      ("shop/util/text.py", "shop.util.text.parse", 0.3)}
    # doc.render() on an object of unknown type: both classes' render, less sure still
    main = _outgoing(graph, "main.py", "main.main", "calls")
    renders = {t for t in main if t[1].endswith(".render")}
    assert renders == {("main.py", "main.Receipt.render", 0.2),
                       ("main.py", "main.Invoice.render", 0.2)}
    sure = graph.callees([graph.node("main.py", "main.main")], min_confidence=1.0)
    assert not any(h.node.symbol.endswith(".render") for h in sure)


def test_overrides_are_implementations_of_the_base_method(indexes):
    graph = indexes["python"].graph()
    hits = graph.implementations([graph.node("shop/base.py", "shop.base.Model.validate")])
    assert {(h.node.path, h.node.symbol) for h in hits} == {
        ("shop/orders.py", "shop.orders.Order.validate")}


def test_what_stays_unresolved_in_python(indexes):
    db = indexes["python"].store().db
    names = sorted(r[0] for r in db.execute("SELECT name FROM edges WHERE dst_path IS NULL"))
    # builtins, methods of values whose type is unknown, and the dynamic calls
    assert names == sorted(['"-".join', "bool", "callback", "getattr", "getattr(self, name)",
                            "int", "print", "print", "sum", "super", "text.lower",
                            "text.lower().split", "value.strip"])
    assert GraphTables(db).counts()["unresolved_calls"] == len(names)


# A function whose parameter or return type is a class of another file, named through an
# import (a re-export, an alias, a package-qualified name): its `references` edges.
TYPE_USE_EDGES = {
    "python": ("main.py", "main.ship", {("shop/orders.py", "shop.orders.Order"),
                                        ("main.py", "main.Invoice"),
                                        ("shop/base.py", "shop.base.Model")}),
    "typescript": ("src/main.ts", "pick", {("src/shapes/circle.ts", "Circle"),
                                           ("src/shapes/square.ts", "Square"),
                                           ("src/shapes/shape.ts", "Shape")}),
    "java": ("App.java", "com.acme.shop.App.first", {
        ("model/Order.java", "com.acme.shop.model.Order"),
        ("util/Text.java", "com.acme.shop.util.Text")}),
    "go": ("cmd/shop/main.go", "main.newApp", {("store/cart.go", "store.Cart"),
                                               ("cmd/shop/main.go", "main.app")}),
    "rust": ("src/lib.rs", "pair", {("src/shapes/circle.rs", "Circle"),
                                    ("src/shapes/square.rs", "Square")}),
}


@pytest.mark.parametrize("language", sorted(TYPE_USE_EDGES))
def test_type_uses_resolve_through_imports(language, indexes):
    path, function, targets = TYPE_USE_EDGES[language]
    prefix = SPECS[language].prefix
    found = _outgoing(indexes[language].graph(), prefix + path, function, "references")
    assert found == {(prefix + p, q, 1.0) for p, q in targets}


def test_type_names_from_elsewhere_stay_unresolved(indexes):
    spec = SPECS["java"]
    idx = indexes["java"]
    assert _unresolved(idx, spec.prefix + "model/Order.java", "com.acme.shop.model.Order") == [
        "List", "String"]  # java.util / java.lang: not in this repository
    counts = GraphTables(idx.store().db).counts()
    assert counts["references"] > 0 and counts["unresolved_references"] > 0


def test_refs_of_a_class_lists_its_type_uses(indexes):
    graph = indexes["python"].graph()
    hits = graph.references([graph.node("shop/orders.py", "shop.orders.Order")])
    assert {(h.node.path, h.node.symbol, h.edge) for h in hits} == {
        ("main.py", "", "imports"),
        ("main.py", "main.main", "calls"),
        ("main.py", "main.Invoice", "references"),
        ("main.py", "main.ship", "references"),
        ("shop/__init__.py", "", "imports"),
        ("shop/orders.py", "shop.orders.Order.merge", "references"),
    }
    # callers and callees stay calls only
    callers = graph.callers([graph.node("shop/orders.py", "shop.orders.Order")])
    assert {h.edge for h in callers} == {"calls"}


# -- Python in depth: edits ---------------------------------------------------------------

def test_edits_add_and_remove_edges(tmp_path):
    root = _copy("python", tmp_path)
    pricing, numbers = root / PRICING, root / "shop/util/numbers.py"

    def run():
        idx, summary = _open(root, tmp_path / "idx")
        return idx, idx.graph(), summary.graph

    idx, graph, summary = run()
    idx.close()
    assert summary.full

    # A new callee in the same file.
    pricing.write_text(pricing.read_text().replace(
        "return amount - discount_for(amount)",
        "return round_cents(amount - discount_for(amount))") +
        "\n\ndef round_cents(amount):\n    return round(amount, 2)\n")
    idx, graph, summary = run()
    with idx:
        assert not summary.full
        assert _outgoing(graph, PRICING, "shop.pricing.apply_discount", "calls") == {
            (PRICING, "shop.pricing.discount_for", 1.0), (PRICING, "shop.pricing.round_cents", 1.0)}

    # A call removed: its edge goes, the other caller stays.
    numbers.write_text(numbers.read_text().replace(
        "return amount - discount_for(amount)", "return amount"))
    idx, graph, _ = run()
    with idx:
        assert _callers(graph, PRICING, "shop.pricing.discount_for") == {
            (PRICING, "shop.pricing.apply_discount", 1)}

    # A file deleted: edges into it from unchanged files go (unresolved now), and a name
    # two modules defined now has one candidate left.
    numbers.unlink()
    idx, graph, _ = run()
    with idx:
        total = _outgoing(graph, "shop/orders.py", "shop.orders.Order.total", "calls")
        assert not any(p == "shop/util/numbers.py" for p, _, _ in total)
        assert "parse_amount" in _unresolved(idx, "shop/orders.py", "shop.orders.Order.total")
        assert "shop.util.numbers.net" in _unresolved(idx, "main.py", "main.main")
        assert _outgoing(graph, "shop/legacy.py", "shop.legacy.legacy_total", "calls") == {
            ("shop/util/text.py", "shop.util.text.parse", 0.6)}

    # An import of a module that does not exist yet, then the module: the unchanged
    # importer's edges appear.
    main = root / "main.py"
    main.write_text(main.read_text().replace(
        "from shop.util.text import parse",
        "from shop.util.text import parse\nfrom shop.audit import audit") +
        "\n\ndef check(order):\n    return audit(order)\n")
    idx, graph, _ = run()
    with idx:
        assert _unresolved(idx, "main.py", "main.check") == ["audit"]
    (root / "shop/audit.py").write_text("def audit(order):\n    return bool(order)\n")
    idx, graph, summary = run()
    with idx:
        assert summary.files_resolved == 2  # the new file and main.py, nothing else
        assert _outgoing(graph, "main.py", "main.check", "calls") == {
            ("shop/audit.py", "shop.audit.audit", 1.0)}
        assert ("shop/audit.py", "shop.audit.audit", 1.0) in _outgoing(
            graph, "main.py", "", "imports")


def test_inheritance_cycles_end(tmp_path):
    root = write_tree(tmp_path / "repo", {
        "a.py": '''
            from b import B


            class A(B):
                def run(self):
                    return self.step() + self.missing()

                def step(self):
                    return 1
        ''',
        "b.py": '''
            from a import A


            class B(A):
                def go(self):
                    return self.run()
        ''',
    })
    idx, _ = _open(root, tmp_path / "idx")
    with idx:
        graph = idx.graph()
        assert _outgoing(graph, "a.py", "a.A.run", "calls") == {("a.py", "a.A.step", 1.0)}
        assert _outgoing(graph, "b.py", "b.B.go", "calls") == {("a.py", "a.A.run", 1.0)}
        subs = graph.subclasses([graph.node("a.py", "a.A")], depth=4)
        assert [(h.node.symbol, h.depth, h.seen_before) for h in subs] == [
            ("b.B", 1, False), ("a.A", 2, True)]


def test_namespace_lookups_are_remembered(tmp_path: Path, monkeypatch):
    """A C# namespace is a module of many files, each with its own `using`s: a name found in
    none of them was looked up again through every file and `using` for every reference
    (minutes on npgsql). Counted, not timed: each (namespace, name, depth) is looked up once."""
    from codesift.graph import imports as imports_mod

    files = {}
    for ns in ("Alpha", "Beta", "Gamma"):
        for i in range(8):
            files[f"src/{ns}/C{i}.cs"] = (
                "using Alpha;\nusing Beta;\nusing Gamma;\n\n"
                f"namespace {ns}\n{{\n    public class {ns}C{i}\n    {{\n"
                "        public void Run()\n        {\n"
                + "".join(f"            Missing{j}();\n" for j in range(4))
                + "        }\n    }\n}\n")
    repo = write_tree(tmp_path / "cs", files)
    calls = []
    real = imports_mod.Imports._member

    def counted(self, module, name, depth, conf=1.0):
        calls.append((module.name, name, depth))
        return real(self, module, name, depth, conf)

    monkeypatch.setattr(imports_mod, "MAX_DEPTH", 3)
    monkeypatch.setattr(imports_mod.Imports, "_member", counted)
    with codesift.open_index(repo, index_dir=tmp_path / "idx", dense=False) as idx:
        idx.update()
    assert calls and len(calls) == len(set(calls))  # never the same lookup twice
    assert len(calls) <= 3 * 4 * 4  # namespaces x names x depths
