; codesift definitions and references for Rust.
; Captures: @def.<kind> with @name and @body; @ref.<kind>. impl blocks are named in parse.py.

(function_item name: (identifier) @name body: (block) @body) @def.function
(function_signature_item name: (identifier) @name) @def.function
(struct_item name: (type_identifier) @name body: (_)? @body) @def.struct
(union_item name: (type_identifier) @name body: (_)? @body) @def.struct
(enum_item name: (type_identifier) @name body: (_) @body) @def.enum
(trait_item name: (type_identifier) @name body: (_) @body) @def.trait
(impl_item type: (_) @name body: (_) @body) @def.impl
(mod_item name: (identifier) @name body: (_) @body) @def.module
(type_item name: (type_identifier) @name) @def.type
(macro_definition name: (identifier) @name) @def.function

(call_expression function: (_) @ref.call)
(use_declaration argument: (_) @ref.import)
(extern_crate_declaration name: (identifier) @ref.import)
(impl_item trait: (_) @ref.implement)
(trait_item bounds: (trait_bounds [(type_identifier) (scoped_type_identifier) (generic_type)] @ref.inherit))

; type uses: parameters, returns, struct fields, `let` types and struct expressions
(parameter type: (_) @ref.reference)
(function_item return_type: (_) @ref.reference)
(function_signature_item return_type: (_) @ref.reference)
(field_declaration type: (_) @ref.reference)
(ordered_field_declaration_list type: (_) @ref.reference)
(let_declaration type: (_) @ref.reference)
(struct_expression name: (_) @ref.reference)
