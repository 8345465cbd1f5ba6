; codesift definitions and references for Ruby.
; Captures: @def.<kind> with @name and @body; @ref.<kind>.

(module name: (_) @name body: (_)? @body) @def.module
(class name: (_) @name body: (_)? @body) @def.class
(method name: (_) @name body: (_)? @body) @def.method
(singleton_method name: (_) @name body: (_)? @body) @def.method

(call method: (_)) @ref.call
(call
  method: (identifier) @_m
  arguments: (argument_list . (string) @ref.import)
  (#match? @_m "^(require|require_relative|load|autoload)$"))
(superclass (_) @ref.inherit)
(call
  method: (identifier) @_m
  arguments: (argument_list [(constant) (scope_resolution)] @ref.implement)
  (#match? @_m "^(include|extend|prepend)$"))
