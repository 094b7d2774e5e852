;; Go graph query (tree-sitter-go 0.25). Capture convention: README.md in this folder.

;; --- definitions ---------------------------------------------------------------------------------------------

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

;; Methods: the receiver's type (behind `*`, without type arguments) is the owner.
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [(type_identifier) @scope
             (pointer_type (type_identifier) @scope)
             (generic_type type: (type_identifier) @scope)
             (pointer_type (generic_type type: (type_identifier) @scope))]))
  name: (field_identifier) @name.definition.method) @definition.method

(type_spec
  name: (type_identifier) @name.definition.struct
  type: (struct_type)) @definition.struct
(type_spec
  name: (type_identifier) @name.definition.interface
  type: (interface_type)) @definition.interface
;; Any other named type (`type ID string`, `type Handler func(...)`) and aliases (`type A = B`).
(type_spec
  name: (type_identifier) @name.definition.type) @definition.type
(type_alias
  name: (type_identifier) @name.definition.type) @definition.type

;; Interface methods (owned by the interface type around them).
(method_elem
  name: (field_identifier) @name.definition.method) @definition.method

;; Package-level constants (one definition per name of `const A, B = 1, 2`; the `name:` field form would only
;; match the first name).
(source_file
  (const_declaration
    (const_spec (identifier) @name.definition.constant) @definition.constant))

;; Type parameters of generic functions, types and methods (`[T any]`, a receiver's `S[T]`).
(function_declaration
  type_parameters: (type_parameter_list
    (type_parameter_declaration name: (identifier) @local.name))) @local.scope
(type_spec
  type_parameters: (type_parameter_list
    (type_parameter_declaration name: (identifier) @local.name))) @local.scope
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [(generic_type type_arguments: (type_arguments (type_elem (type_identifier) @local.name)))
             (pointer_type (generic_type type_arguments: (type_arguments (type_elem (type_identifier) @local.name))))]))) @local.scope

;; The receiver's type is the method's owner (`@scope` above), not a reference.
(method_declaration receiver: (_) @ignore)

;; --- calls ---------------------------------------------------------------------------------------------------

(call_expression
  function: [(identifier) @name.reference.call
             (parenthesized_expression (identifier) @name.reference.call)
             (generic_type type: (type_identifier) @name.reference.call)
             (index_expression operand: (identifier) @name.reference.call)]) @reference.call
(call_expression
  function: [(selector_expression operand: (_) @qualifier field: (field_identifier) @name.reference.call)
             (index_expression
               operand: (selector_expression operand: (_) @qualifier field: (field_identifier) @name.reference.call))
             (parenthesized_expression
               (selector_expression operand: (_) @qualifier field: (field_identifier) @name.reference.call))]) @reference.call

;; Composite literals build a value of the type: `Point{X: 1}`, `&geo.Point{}`, `Box[int]{}`.
(composite_literal
  type: [(type_identifier) @name.reference.call
         (qualified_type package: (_) @qualifier name: (type_identifier) @name.reference.call)
         (generic_type type: (type_identifier) @name.reference.call)
         (generic_type type: (qualified_type package: (_) @qualifier name: (type_identifier) @name.reference.call))])

;; --- inheritance (embedding) and types -----------------------------------------------------------------------

;; Embedded fields of a struct (`Base`, `*Base`, `pkg.Base`) and embedded interfaces (`io.Reader`).
(field_declaration_list
  (field_declaration
    !name
    type: [(type_identifier) @name.reference.inherit
           (qualified_type package: (_) @qualifier name: (type_identifier) @name.reference.inherit)
           (generic_type type: (type_identifier) @name.reference.inherit)]))
(field_declaration_list
  (field_declaration
    !name
    type: (pointer_type
      [(type_identifier) @name.reference.inherit
       (qualified_type package: (_) @qualifier name: (type_identifier) @name.reference.inherit)])))
(interface_type
  (type_elem
    [(type_identifier) @name.reference.inherit
     (qualified_type package: (_) @qualifier name: (type_identifier) @name.reference.inherit)]))

;; Every other type name, without the predeclared types (`string`, `error`, ...) and type parameters in scope.
((type_identifier) @name.reference.type
  (#not-match? @name.reference.type "^(any|bool|byte|comparable|complex64|complex128|error|float32|float64|int|int8|int16|int32|int64|rune|string|uint|uint8|uint16|uint32|uint64|uintptr)$"))
(qualified_type
  package: (_) @qualifier
  name: (type_identifier) @name.reference.type)

;; --- imports -------------------------------------------------------------------------------------------------

;; `import "fmt"`, `import f "fmt"`, `import _ "embed"`, and the same in a group.
(import_spec
  path: (interpreted_string_literal (interpreted_string_literal_content) @name.reference.import)) @reference.import
(import_spec
  name: (_) @import.alias
  path: (interpreted_string_literal (interpreted_string_literal_content) @name.reference.import)) @reference.import
