; codesift definitions and references for Python.
; Captures: @def.<kind> (definition node) with @name and @body; @ref.<kind> (reference node).

(class_definition name: (identifier) @name body: (block) @body) @def.class
(function_definition name: (identifier) @name body: (block) @body) @def.function

(call function: (_) @ref.call)
(import_statement) @ref.import
(import_from_statement) @ref.import
(class_definition superclasses: (argument_list [(identifier) (attribute)] @ref.inherit))
