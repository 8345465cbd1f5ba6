; codesift definitions and references for Go.
; Captures: @def.<kind> with @name and @body; @module (package name); @ref.<kind>.

(package_clause (package_identifier) @module)

(function_declaration name: (identifier) @name body: (block) @body) @def.function
(function_declaration name: (identifier) @name !body) @def.function
(method_declaration name: (field_identifier) @name body: (block) @body) @def.method
(type_spec name: (type_identifier) @name type: (struct_type (field_declaration_list) @body)) @def.struct
(type_spec name: (type_identifier) @name type: (interface_type) @body) @def.interface
(type_spec name: (type_identifier) @name type: [(type_identifier) (qualified_type) (generic_type)
  (function_type) (map_type) (slice_type) (array_type) (pointer_type) (channel_type)]) @def.type
(type_alias name: (type_identifier) @name) @def.type

(call_expression function: (_) @ref.call)
(import_spec) @ref.import
; embedded fields and embedded interfaces are Go's inheritance
(field_declaration_list (field_declaration !name type: (_) @ref.inherit))
(interface_type (type_elem . [(type_identifier) (qualified_type)] @ref.inherit .))

; type uses: parameters and results (not a method's receiver), named fields, variables and
; composite literals (`Cart{}`)
(function_declaration parameters: (_) @ref.reference)
(function_declaration result: (_) @ref.reference)
(method_declaration parameters: (_) @ref.reference)
(method_declaration result: (_) @ref.reference)
(method_elem parameters: (_) @ref.reference)
(method_elem result: (_) @ref.reference)
(func_literal parameters: (_) @ref.reference)
(func_literal result: (_) @ref.reference)
(field_declaration name: (_) type: (_) @ref.reference)
(var_spec type: (_) @ref.reference)
(composite_literal type: (_) @ref.reference)
