; codesift definitions and references for JavaScript (also loaded before typescript.scm).
; Captures: @def.<kind> (definition node) with @name and @body; @ref.<kind> (reference node).

(class_declaration name: (_) @name body: (class_body) @body) @def.class
(function_declaration name: (identifier) @name body: (_) @body) @def.function
(generator_function_declaration name: (identifier) @name body: (_) @body) @def.function
(method_definition name: (_) @name body: (_) @body) @def.method

; const f = () => {} / const f = function () {}
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function body: (_) @body) (function_expression body: (_) @body)
          (generator_function body: (_) @body)]) @def.function

; obj.prop = function () {}, module.exports.x = () => {}, f = () => {}
(assignment_expression
  left: [(member_expression) (identifier)] @name
  right: [(arrow_function body: (_) @body) (function_expression body: (_) @body)
          (generator_function body: (_) @body)]) @def.function

; class fields holding functions: handler = () => {}
(field_definition
  property: (property_identifier) @name
  value: [(arrow_function body: (_) @body) (function_expression body: (_) @body)]) @def.method

(call_expression function: (_) @ref.call)
(new_expression constructor: (_) @ref.call)
(import_statement) @ref.import
(export_statement source: (string)) @ref.import
(export_statement value: (identifier)) @ref.import
(call_expression
  function: [(identifier) (import)] @_fn
  arguments: (arguments . (string) @ref.import)
  (#match? @_fn "^(require|import)$"))
(class_heritage (identifier) @ref.inherit)
(class_heritage (member_expression) @ref.inherit)
