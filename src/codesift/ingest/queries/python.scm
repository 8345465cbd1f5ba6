; codesift definitions and references for Python.
; Captures: @def.<kind> (definition node) with @name and @body; @ref.<kind> (reference node).

(class_definition name: (identifier) @name body: (block) @body) @def.class
(function_definition name: (identifier) @name body: (block) @body) @def.function

(call function: (_) @ref.call)
(import_statement) @ref.import
(import_from_statement) @ref.import
(class_definition superclasses: (argument_list [(identifier) (attribute)] @ref.inherit))

; type uses: the annotations of parameters, returns and variables (names: parse_types.py)
(typed_parameter type: (type) @ref.reference)
(typed_default_parameter type: (type) @ref.reference)
(function_definition return_type: (type) @ref.reference)
(assignment type: (type) @ref.reference)
