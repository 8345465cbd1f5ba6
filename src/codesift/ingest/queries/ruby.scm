; codesift definitions and references for Ruby.
; Captures: @def.<kind> with @name and @body; @ref.<kind>.

(module name: (_) @name body: (_)? @body) @def.module
(class name: (_) @name body: (_)? @body) @def.class
(method name: (_) @name body: (_)? @body) @def.method
(singleton_method name: (_) @name body: (_)? @body) @def.method

(call method: (_)) @ref.call
; a bare name as a statement or an operand of && / || calls a method on self, unless
; it is a local (parse_refs.py tells them apart)
(body_statement (identifier) @ref.name_call)
(then (identifier) @ref.name_call)
(else (identifier) @ref.name_call)
(block_body (identifier) @ref.name_call)
(binary operator: ["&&" "||" "and" "or"] (identifier) @ref.name_call)
; a bare `super` (no arguments, no parentheses) calls the overridden method
(body_statement (super) @ref.call)
(binary (super) @ref.call)
(call
  method: (identifier) @_m
  arguments: (argument_list . (string) @ref.import)
  (#match? @_m "^(require|require_relative|load|autoload)$"))
(superclass (_) @ref.inherit)
(call
  method: (identifier) @_m
  arguments: (argument_list [(constant) (scope_resolution)] @ref.implement)
  (#match? @_m "^(include|extend|prepend)$"))
