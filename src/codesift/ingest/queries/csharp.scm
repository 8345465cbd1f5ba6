; codesift definitions and references for C#.
; Captures: @def.<kind> with @name and @body; @module (file-scoped namespace); @ref.<kind>.

(file_scoped_namespace_declaration name: (_) @module)

(namespace_declaration name: (_) @name body: (_) @body) @def.module
(class_declaration name: (identifier) @name body: (_) @body) @def.class
(record_declaration name: (identifier) @name) @def.class
(struct_declaration name: (identifier) @name body: (_) @body) @def.struct
(interface_declaration name: (identifier) @name body: (_) @body) @def.interface
(enum_declaration name: (identifier) @name body: (_) @body) @def.enum
(method_declaration name: (identifier) @name body: (_)? @body) @def.method
(constructor_declaration name: (identifier) @name body: (_)? @body) @def.method
(local_function_statement name: (identifier) @name body: (_)? @body) @def.function

(invocation_expression function: (_) @ref.call)
(object_creation_expression type: (_) @ref.call)
(using_directive) @ref.import
(base_list (_) @ref.inherit)

; type uses: parameter, return, field, local and property types, caught exceptions, and
; the type arguments of `new` and of base types (`new Foo()` itself is a call)
(parameter type: (_) @ref.reference)
(method_declaration returns: (_) @ref.reference)
(variable_declaration type: (_) @ref.reference)
(property_declaration type: (_) @ref.reference)
(catch_declaration type: (_) @ref.reference)
(object_creation_expression type: (generic_name (type_argument_list) @ref.reference))
(base_list (generic_name (type_argument_list) @ref.reference))
