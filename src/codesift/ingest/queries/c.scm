; codesift definitions and references for C.
; Captures: @def.<kind> with @name (a declarator, resolved in parse.py) and @body; @ref.<kind>.

(function_definition declarator: (_) @name body: (_) @body) @def.function
(struct_specifier name: (type_identifier) @name body: (_) @body) @def.struct
(union_specifier name: (type_identifier) @name body: (_) @body) @def.struct
(enum_specifier name: (type_identifier) @name body: (_) @body) @def.enum
(type_definition type: (struct_specifier !name body: (_) @body) declarator: (type_identifier) @name) @def.struct
(type_definition type: (union_specifier !name body: (_) @body) declarator: (type_identifier) @name) @def.struct
(type_definition type: (enum_specifier !name body: (_) @body) declarator: (type_identifier) @name) @def.enum

; prototypes at file level (and in extern "C" blocks) are a header's API: bodiless functions
(translation_unit (declaration declarator: [(function_declarator) (pointer_declarator)] @name) @def.function)
(linkage_specification body: (declaration_list
  (declaration declarator: [(function_declarator) (pointer_declarator)] @name) @def.function))

(call_expression function: (_) @ref.call)
(preproc_include path: (_) @ref.import)
