;; Python graph query (tree-sitter-python 0.25). Capture convention: README.md in this folder.

;; --- definitions ---------------------------------------------------------------------------------------------

(class_definition
  name: (identifier) @name.definition.class) @definition.class

;; A function directly in a class body becomes a method in extract.py.
(function_definition
  name: (identifier) @name.definition.function) @definition.function

;; Constants: ALL_CAPS names assigned at module level or in a class body (PEP 8's convention for constants).
((module
   (expression_statement
     (assignment
       left: (identifier) @name.definition.constant) @definition.constant))
  (#match? @name.definition.constant "^_*[A-Z][A-Z0-9_]*$"))

((class_definition
   body: (block
     (expression_statement
       (assignment
         left: (identifier) @name.definition.constant) @definition.constant)))
  (#match? @name.definition.constant "^_*[A-Z][A-Z0-9_]*$"))

;; `type Vector = list[float]` (Python 3.12).
(type_alias_statement
  left: (type (identifier) @name.definition.type)) @definition.type

;; PEP 695 type parameters (`def f[T](x: T)`, `class Box[T]:`): uses of T inside are not references.
(function_definition
  type_parameters: (type_parameter (type (identifier) @local.name))) @local.scope
(class_definition
  type_parameters: (type_parameter (type (identifier) @local.name))) @local.scope

;; --- calls ---------------------------------------------------------------------------------------------------

(call
  function: (identifier) @name.reference.call) @reference.call

(call
  function: (attribute
    object: (_) @qualifier
    attribute: (identifier) @name.reference.call)) @reference.call

;; --- base classes --------------------------------------------------------------------------------------------

;; `class A(B, pkg.C, Generic[T], metaclass=M)`: B, C and Generic (keyword arguments are not bases).
(class_definition
  superclasses: (argument_list
    [(identifier) @name.reference.inherit
     (attribute object: (_) @qualifier attribute: (identifier) @name.reference.inherit)
     (subscript value: (identifier) @name.reference.inherit)
     (subscript value: (attribute object: (_) @qualifier attribute: (identifier) @name.reference.inherit))]))

;; --- types ---------------------------------------------------------------------------------------------------

;; Annotations: `x: Foo`, `-> pkg.Foo`, the head and arguments of `dict[str, Foo]`, the members of `A | B | None`.
;; Built-in types are not references. String annotations ("Foo") are not parsed.
((type (identifier) @name.reference.type)
  (#not-match? @name.reference.type "^(str|int|float|bool|bytes|object|list|dict|set|frozenset|tuple|type|complex|bytearray|memoryview|range|slice)$"))
(type
  (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type))
((generic_type (identifier) @name.reference.type)
  (#not-match? @name.reference.type "^(str|int|float|bool|bytes|object|list|dict|set|frozenset|tuple|type|complex|bytearray|memoryview|range|slice)$"))
(type
  (binary_operator
    [left: (identifier) @name.reference.type
     right: (identifier) @name.reference.type
     left: (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type)
     right: (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type)]))
(type
  (binary_operator
    left: (binary_operator
      [left: (identifier) @name.reference.type
       right: (identifier) @name.reference.type
       left: (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type)
       right: (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type)])))

;; `t.Dict[str, Foo]`, `typing.Optional[pkg.Foo]`: a subscripted attribute is a plain `subscript`, not a
;; `generic_type`, so its head and arguments need their own patterns (arguments two levels deep:
;; `t.Optional[t.List[Foo]]`).
(type
  (subscript value: (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type)))
((type (subscript subscript: (identifier) @name.reference.type))
  (#not-match? @name.reference.type "^(str|int|float|bool|bytes|object|list|dict|set|frozenset|tuple|type|complex|bytearray|memoryview|range|slice)$"))
(type
  (subscript subscript: (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type)))
((type (subscript subscript: (subscript value: (identifier) @name.reference.type)))
  (#not-match? @name.reference.type "^(str|int|float|bool|bytes|object|list|dict|set|frozenset|tuple|type|complex|bytearray|memoryview|range|slice)$"))
(type
  (subscript subscript: (subscript value: (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type))))
((type (subscript subscript: (subscript subscript: (identifier) @name.reference.type)))
  (#not-match? @name.reference.type "^(str|int|float|bool|bytes|object|list|dict|set|frozenset|tuple|type|complex|bytearray|memoryview|range|slice)$"))
(type
  (subscript subscript: (subscript subscript: (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type))))

;; Caught exceptions: `except E`, `except pkg.E`, `except (E1, E2) as e`.
(except_clause
  value: [(identifier) @name.reference.type
          (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type)])
(except_clause
  value: (as_pattern
    [(identifier) @name.reference.type
     (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type)]))
(except_clause
  value: (tuple
    [(identifier) @name.reference.type
     (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type)]))
(except_clause
  value: (as_pattern
    (tuple
      [(identifier) @name.reference.type
       (attribute object: (_) @qualifier attribute: (identifier) @name.reference.type)])))

;; --- imports -------------------------------------------------------------------------------------------------

;; `import a.b` and `import a.b as c`: one import per module.
(import_statement
  name: (dotted_name) @name.reference.import) @reference.import
(import_statement
  name: (aliased_import
    name: (dotted_name) @name.reference.import
    alias: (identifier) @import.alias)) @reference.import

;; `from .x import y, z as w` and `from m import *`: the module (dots give the relative level) and each name.
(import_from_statement
  module_name: (_) @name.reference.import) @reference.import
(import_from_statement
  module_name: (_) @name.reference.import
  name: [(dotted_name) @import.name
         (aliased_import name: (dotted_name) @import.name alias: (identifier) @import.local)]) @reference.import
(import_from_statement
  module_name: (_) @name.reference.import
  (wildcard_import) @import.name) @reference.import

;; `from __future__ import annotations`
(future_import_statement
  "__future__" @name.reference.import
  name: [(dotted_name) @import.name
         (aliased_import name: (dotted_name) @import.name alias: (identifier) @import.local)]) @reference.import
