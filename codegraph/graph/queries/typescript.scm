;; TypeScript graph query (tree-sitter-typescript 0.23); TSX adds tsx.scm. Capture convention: README.md in this folder.

;; --- definitions ---------------------------------------------------------------------------------------------

(function_declaration
  name: (identifier) @name.definition.function) @definition.function
(generator_function_declaration
  name: (identifier) @name.definition.function) @definition.function
(class_declaration
  name: (type_identifier) @name.definition.class) @definition.class
(abstract_class_declaration
  name: (type_identifier) @name.definition.class) @definition.class
(interface_declaration
  name: (type_identifier) @name.definition.interface) @definition.interface
(enum_declaration
  name: (identifier) @name.definition.enum) @definition.enum
(type_alias_declaration
  name: (type_identifier) @name.definition.type) @definition.type

;; `namespace A.B { ... }` and `declare module Foo { ... }` (a module named by a string is not a definition).
(internal_module
  name: [(identifier) (nested_identifier)] @name.definition.module) @definition.module
(module
  name: [(identifier) (nested_identifier)] @name.definition.module) @definition.module

;; Overload and ambient signatures, interface and abstract members.
(function_signature
  name: (identifier) @name.definition.function) @definition.function
(method_signature
  name: [(property_identifier) (private_property_identifier)] @name.definition.method) @definition.method
(abstract_method_signature
  name: [(property_identifier) (private_property_identifier)] @name.definition.method) @definition.method

;; Methods of classes and object literals (a function directly in a class becomes a method in extract.py); a
;; computed name keeps its brackets (`[Symbol.iterator]`).
(method_definition
  name: [(property_identifier) (private_property_identifier) (computed_property_name)] @name.definition.function) @definition.function

;; `const f = () => ...`, `let g = function () {...}`, `const C = class {...}`.
(variable_declarator
  name: (identifier) @name.definition.function
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
(variable_declarator
  name: (identifier) @name.definition.class
  value: (class)) @definition.class

;; `f = function () {...}`, `obj.f = () => ...` (owner `obj` unless it is exports/module/a global object), and
;; `Foo.prototype.bar = function () {...}` (method of Foo).
(assignment_expression
  left: [(identifier) @name.definition.function
         (member_expression property: (property_identifier) @name.definition.function)]
  right: [(arrow_function) (function_expression) (generator_function)]) @definition.function
((assignment_expression
   left: (member_expression
     object: (identifier) @scope
     property: (property_identifier) @name.definition.function)
   right: [(arrow_function) (function_expression) (generator_function)]) @definition.function
  (#not-match? @scope "^(exports|module|window|self|global|globalThis)$"))
((assignment_expression
   left: (member_expression
     object: (member_expression
       object: (identifier) @scope
       property: (property_identifier) @_prototype)
     property: (property_identifier) @name.definition.method)
   right: [(arrow_function) (function_expression) (generator_function)]) @definition.method
  (#eq? @_prototype "prototype"))

;; `{ key: function () {...} }`, `{ "key": () => ... }` and class fields holding a function.
(pair
  key: [(property_identifier) (string)] @name.definition.function
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
(public_field_definition
  name: (property_identifier) @name.definition.function
  value: [(arrow_function) (function_expression)]) @definition.function

;; Constants: `const` at file level (exported or not) whose value is not a function or class (those are above)
;; nor a `require(...)` / `import(...)` (an import).
((program
   (lexical_declaration
     kind: "const"
     (variable_declarator
       name: (identifier) @name.definition.constant
       value: (_) @_value) @definition.constant))
  (#not-match? @_value "^(await\\s+)?(require|import)\\s*\\("))
((program
   (export_statement
     declaration: (lexical_declaration
       kind: "const"
       (variable_declarator
         name: (identifier) @name.definition.constant
         value: (_) @_value) @definition.constant)))
  (#not-match? @_value "^(await\\s+)?(require|import)\\s*\\("))

;; --- calls ---------------------------------------------------------------------------------------------------

;; `f()` (not `require(...)`, an import), `obj.f()`, `obj?.f()`, `this.#f()`, `new Foo()`, `new ns.Foo()`.
((call_expression
   function: (identifier) @name.reference.call) @reference.call
  (#not-eq? @name.reference.call "require"))
(call_expression
  function: (member_expression
    object: (_) @qualifier
    property: [(property_identifier) (private_property_identifier)] @name.reference.call)) @reference.call
(new_expression
  constructor: [(identifier) @name.reference.call
                (member_expression object: (_) @qualifier property: (property_identifier) @name.reference.call)]) @reference.call

;; --- inheritance and types -----------------------------------------------------------------------------------

;; `class A extends B<T>`, `extends ns.B`, `implements I, ns.J<T>`, `interface I extends J, K`.
(extends_clause
  value: [(identifier) @name.reference.inherit
          (member_expression object: (_) @qualifier property: (property_identifier) @name.reference.inherit)])
(implements_clause
  [(type_identifier) @name.reference.inherit
   (generic_type name: (type_identifier) @name.reference.inherit)
   (nested_type_identifier module: (_) @qualifier name: (type_identifier) @name.reference.inherit)
   (generic_type name: (nested_type_identifier module: (_) @qualifier name: (type_identifier) @name.reference.inherit))])
(extends_type_clause
  type: [(type_identifier) @name.reference.inherit
         (generic_type name: (type_identifier) @name.reference.inherit)
         (nested_type_identifier module: (_) @qualifier name: (type_identifier) @name.reference.inherit)
         (generic_type name: (nested_type_identifier module: (_) @qualifier name: (type_identifier) @name.reference.inherit))])

;; Every other type name (annotations, generic arguments, `as` casts, `satisfies`): a type reference, unless it
;; names a type parameter in scope. Built-in types (`string`, `number`, ...) are `predefined_type` nodes.
(type_identifier) @name.reference.type
(nested_type_identifier
  module: (_) @qualifier
  name: (type_identifier) @name.reference.type)
(_
  type_parameters: (type_parameters
    (type_parameter name: (type_identifier) @local.name))) @local.scope

;; `x instanceof Foo`
(binary_expression
  operator: "instanceof"
  right: [(identifier) @name.reference.type
          (member_expression object: (_) @qualifier property: (property_identifier) @name.reference.type)])

;; --- imports -------------------------------------------------------------------------------------------------

;; `import "./x"`, `import d, { a, b as c } from "./x"`, `import * as ns from "./x"`.
(import_statement
  source: (string (string_fragment) @name.reference.import)) @reference.import
(import_statement
  (import_clause (named_imports (import_specifier name: (_) @import.name alias: (_)? @import.local)))
  source: (string (string_fragment) @name.reference.import)) @reference.import
(import_statement
  (import_clause [(identifier) @import.alias (namespace_import (identifier) @import.alias)])
  source: (string (string_fragment) @name.reference.import)) @reference.import

;; Re-exports: `export { a } from "./x"`, `export * from "./x"`.
(export_statement
  source: (string (string_fragment) @name.reference.import)) @reference.import
(export_statement
  (export_clause (export_specifier name: (_) @import.name alias: (_)? @import.local))
  source: (string (string_fragment) @name.reference.import)) @reference.import

;; `import fs = require("fs")`
(import_statement
  (import_require_clause
    (identifier) @import.alias
    source: (string (string_fragment) @name.reference.import))) @reference.import

;; `require("./x")`, `const x = require("./x")`, `const { a, b } = require("./x")`, `import("./x")`.
((call_expression
   function: (identifier) @_require
   arguments: (arguments . (string (string_fragment) @name.reference.import) .)) @reference.import
  (#eq? @_require "require"))
((variable_declarator
   name: (identifier) @import.alias
   value: (call_expression
     function: (identifier) @_require
     arguments: (arguments . (string (string_fragment) @name.reference.import) .)))
  (#eq? @_require "require"))
((variable_declarator
   name: (object_pattern
     [(shorthand_property_identifier_pattern) @import.name
      (pair_pattern key: (property_identifier) @import.name value: (identifier)? @import.local)])
   value: (call_expression
     function: (identifier) @_require
     arguments: (arguments . (string (string_fragment) @name.reference.import) .)))
  (#eq? @_require "require"))
(call_expression
  function: (import)
  arguments: (arguments . (string (string_fragment) @name.reference.import))) @reference.import
