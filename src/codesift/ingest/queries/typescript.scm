; codesift definitions and references for TypeScript and TSX, loaded with javascript.scm
; minus its JavaScript-only patterns (see languages.QUERY_FILES).

(class_declaration name: (_) @name body: (class_body) @body) @def.class
(abstract_class_declaration name: (_) @name body: (class_body) @body) @def.class
(interface_declaration name: (_) @name body: (_) @body) @def.interface
(type_alias_declaration name: (_) @name) @def.type
(enum_declaration name: (_) @name body: (_) @body) @def.enum
(internal_module name: (_) @name body: (_) @body) @def.module
(module name: (_) @name body: (_) @body) @def.module
(function_declaration name: (identifier) @name body: (_) @body) @def.function
(generator_function_declaration name: (identifier) @name body: (_) @body) @def.function
(function_signature name: (identifier) @name) @def.function
(method_definition name: (_) @name body: (_) @body) @def.method
(method_signature name: (_) @name) @def.method
(abstract_method_signature name: (_) @name) @def.method

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function body: (_) @body) (function_expression body: (_) @body)
          (generator_function body: (_) @body)]) @def.function

(assignment_expression
  left: [(member_expression) (identifier)] @name
  right: [(arrow_function body: (_) @body) (function_expression body: (_) @body)
          (generator_function body: (_) @body)]) @def.function

(public_field_definition
  name: (property_identifier) @name
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
(extends_clause value: (_) @ref.inherit)
(implements_clause (_) @ref.implement)
(extends_type_clause type: (_) @ref.inherit)

; type uses: every annotation (parameters, returns, fields, variables, property signatures),
; type alias bodies and the type arguments of calls, `new` and `extends`
(type_annotation) @ref.reference
(type_alias_declaration value: (_) @ref.reference)
(call_expression type_arguments: (_) @ref.reference)
(new_expression type_arguments: (_) @ref.reference)
(extends_clause type_arguments: (_) @ref.reference)
