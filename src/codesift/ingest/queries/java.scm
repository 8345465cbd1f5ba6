; codesift definitions and references for Java.
; Captures: @def.<kind> with @name and @body; @module (package); @ref.<kind>.

(package_declaration [(identifier) (scoped_identifier)] @module)

(class_declaration name: (identifier) @name body: (_) @body) @def.class
(record_declaration name: (identifier) @name body: (_) @body) @def.class
(interface_declaration name: (identifier) @name body: (_) @body) @def.interface
(annotation_type_declaration name: (identifier) @name body: (_) @body) @def.interface
(enum_declaration name: (identifier) @name body: (_) @body) @def.enum
(method_declaration name: (identifier) @name body: (_)? @body) @def.method
(constructor_declaration name: (identifier) @name body: (_) @body) @def.method
(compact_constructor_declaration name: (identifier) @name body: (_) @body) @def.method

(method_invocation) @ref.call
(object_creation_expression type: (_) @ref.call)
(import_declaration) @ref.import
(superclass (_) @ref.inherit)
(super_interfaces (type_list (_) @ref.implement))
(extends_interfaces (type_list (_) @ref.inherit))

; type uses: field, parameter, local and return types, thrown and caught exceptions, the type
; arguments of `new` and of base types (`new Foo()` itself is a call)
(field_declaration type: (_) @ref.reference)
(formal_parameter type: (_) @ref.reference)
(spread_parameter [(type_identifier) (scoped_type_identifier) (generic_type) (array_type)] @ref.reference)
(local_variable_declaration type: (_) @ref.reference)
(method_declaration type: (_) @ref.reference)
(catch_type) @ref.reference
(throws) @ref.reference
(object_creation_expression type: (generic_type (type_arguments) @ref.reference))
(superclass (generic_type (type_arguments) @ref.reference))
(super_interfaces (type_list (generic_type (type_arguments) @ref.reference)))
(extends_interfaces (type_list (generic_type (type_arguments) @ref.reference)))
