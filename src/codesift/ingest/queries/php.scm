; codesift definitions and references for PHP.
; Captures: @def.<kind> with @name and @body; @module (`namespace X;`); @ref.<kind>.

(namespace_definition !body name: (_) @module)

(namespace_definition name: (_) @name body: (_) @body) @def.module
(class_declaration name: (name) @name body: (_) @body) @def.class
(interface_declaration name: (name) @name body: (_) @body) @def.interface
(trait_declaration name: (name) @name body: (_) @body) @def.trait
(enum_declaration name: (name) @name body: (_) @body) @def.enum
(function_definition name: (name) @name body: (_) @body) @def.function
(method_declaration name: (name) @name body: (_)? @body) @def.method

(function_call_expression function: (_) @ref.call)
(member_call_expression) @ref.call
(nullsafe_member_call_expression) @ref.call
(scoped_call_expression) @ref.call
(object_creation_expression [(name) (qualified_name)] @ref.call)
(namespace_use_declaration) @ref.import
(base_clause (_) @ref.inherit)
(class_interface_clause (_) @ref.implement)
(use_declaration [(name) (qualified_name)] @ref.implement)
