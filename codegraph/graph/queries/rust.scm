;; Rust graph query (tree-sitter-rust 0.24). Capture convention: README.md in this folder.

;; --- definitions ---------------------------------------------------------------------------------------------

;; An `impl` block is not a definition, but what it holds belongs to its type (`impl<T> Trait for Foo<T>`: Foo):
;; its functions are methods of Foo, and references in it (the trait, bounds, type arguments) are made by Foo.
;; `impl Trait for &'a Foo` lends Foo, `impl Trait for usize` usize; tuples, slices and arrays lend no name.
(impl_item
  type: [(type_identifier) @scope
         (scoped_type_identifier) @scope
         (primitive_type) @scope
         (generic_type type: [(type_identifier) (scoped_type_identifier)] @scope)
         (reference_type
           type: [(type_identifier) @scope
                  (scoped_type_identifier) @scope
                  (primitive_type) @scope
                  (generic_type type: [(type_identifier) (scoped_type_identifier)] @scope)])]) @container

;; Functions (in an impl or a trait they become methods in extract.py) and trait signatures.
(function_item
  name: (identifier) @name.definition.function) @definition.function
(function_signature_item
  name: (identifier) @name.definition.function) @definition.function

(struct_item
  name: (type_identifier) @name.definition.struct) @definition.struct
(union_item
  name: (type_identifier) @name.definition.struct) @definition.struct
(enum_item
  name: (type_identifier) @name.definition.enum) @definition.enum
(trait_item
  name: (type_identifier) @name.definition.trait) @definition.trait
(type_item
  name: (type_identifier) @name.definition.type) @definition.type
(associated_type
  name: (type_identifier) @name.definition.type) @definition.type

;; `mod m { ... }` (a `mod m;` declaration is an import, below).
(mod_item
  name: (identifier) @name.definition.module
  body: (_)) @definition.module

(const_item
  name: (identifier) @name.definition.constant) @definition.constant
(static_item
  name: (identifier) @name.definition.constant) @definition.constant

;; `macro_rules! name { ... }`: invoked like a function (`name!(...)`).
(macro_definition
  name: (identifier) @name.definition.function) @definition.function

;; Generic parameters: uses of T inside the item are not references.
(_
  type_parameters: (type_parameters
    (type_parameter name: (type_identifier) @local.name))) @local.scope

;; --- calls ---------------------------------------------------------------------------------------------------

;; `f()`, `f::<T>()`, `obj.f()`, `Type::f()`, `a::b::f()`, and macro invocations `name!(...)`.
(call_expression
  function: [(identifier) @name.reference.call
             (generic_function function: (identifier) @name.reference.call)]) @reference.call
(call_expression
  function: [(field_expression value: (_) @qualifier field: (field_identifier) @name.reference.call)
             (generic_function function: (field_expression value: (_) @qualifier field: (field_identifier) @name.reference.call))]) @reference.call
(call_expression
  function: [(scoped_identifier path: (_) @qualifier name: (identifier) @name.reference.call)
             (generic_function function: (scoped_identifier path: (_) @qualifier name: (identifier) @name.reference.call))]) @reference.call
(macro_invocation
  macro: [(identifier) @name.reference.call
          (scoped_identifier path: (_) @qualifier name: (identifier) @name.reference.call)]) @reference.call

;; Struct literals build a value of the type: `Point { x, y }`, `geo::Point { .. }`.
(struct_expression
  name: [(type_identifier) @name.reference.call
         (scoped_type_identifier path: (_) @qualifier name: (type_identifier) @name.reference.call)
         (generic_type type: (type_identifier) @name.reference.call)]) @reference.call

;; --- inheritance and types -----------------------------------------------------------------------------------

;; `impl Trait for Type`: Type implements Trait (the impl block belongs to Type, above).
(impl_item
  trait: [(type_identifier) @name.reference.inherit
          (scoped_type_identifier path: (_) @qualifier name: (type_identifier) @name.reference.inherit)
          (generic_type type: (type_identifier) @name.reference.inherit)
          (generic_type type: (scoped_type_identifier path: (_) @qualifier name: (type_identifier) @name.reference.inherit))])

;; Supertraits: `trait A: B + fmt::Debug`.
(trait_item
  bounds: (trait_bounds
    [(type_identifier) @name.reference.inherit
     (scoped_type_identifier path: (_) @qualifier name: (type_identifier) @name.reference.inherit)
     (generic_type type: (type_identifier) @name.reference.inherit)]))

;; Every other type name (`Self` is not a reference), with the path of a qualified one.
((type_identifier) @name.reference.type
  (#not-eq? @name.reference.type "Self"))
(scoped_type_identifier
  path: (_) @qualifier
  name: (type_identifier) @name.reference.type)

;; A type named as the path of a value: `ErrorKind::Overflow(pos)` (also in patterns), `Prerelease::EMPTY`,
;; `Version::parse(s)` (the call is of `parse`; the type is used too), `error::ErrorKind::X` with qualifier `error`.
;; Only capitalised paths (module paths are lower case); not inside `use` declarations (imports, not uses).
((scoped_identifier
   path: (identifier) @name.reference.type)
  (#match? @name.reference.type "^[A-Z]")
  (#not-eq? @name.reference.type "Self"))
((scoped_identifier
   path: (scoped_identifier
     path: (_) @qualifier
     name: (identifier) @name.reference.type))
  (#match? @name.reference.type "^[A-Z]"))
(use_declaration) @ignore

;; --- imports -------------------------------------------------------------------------------------------------

;; `use a::b::C;`, `use a::{b, c::D as E};`, `use a::*;`, `use a as b;` (the tree is expanded in extract.py).
(use_declaration
  argument: (_) @name.reference.import) @reference.import

;; `mod m;` loads m.rs or m/mod.rs next to this module; `extern crate serde;`.
(mod_item
  !body
  name: (identifier) @name.reference.import) @reference.import
(extern_crate_declaration
  name: (identifier) @name.reference.import) @reference.import
