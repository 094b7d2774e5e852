;; Java graph query (tree-sitter-java 0.23). Capture convention: README.md in this folder.

;; --- definitions ---------------------------------------------------------------------------------------------

(class_declaration
  name: (identifier) @name.definition.class) @definition.class
(record_declaration
  name: (identifier) @name.definition.class) @definition.class
(interface_declaration
  name: (identifier) @name.definition.interface) @definition.interface
(annotation_type_declaration
  name: (identifier) @name.definition.interface) @definition.interface
(enum_declaration
  name: (identifier) @name.definition.enum) @definition.enum

;; Methods with or without a body (interface and abstract methods too), constructors.
(method_declaration
  name: (identifier) @name.definition.method) @definition.method
(constructor_declaration
  name: (identifier) @name.definition.method) @definition.method
(compact_constructor_declaration
  name: (identifier) @name.definition.method) @definition.method

;; Constants: `static final` fields, and interface fields (implicitly static final).
(field_declaration
  (modifiers "static" "final")
  declarator: (variable_declarator name: (identifier) @name.definition.constant)) @definition.constant
(field_declaration
  (modifiers "final" "static")
  declarator: (variable_declarator name: (identifier) @name.definition.constant)) @definition.constant
(constant_declaration
  declarator: (variable_declarator name: (identifier) @name.definition.constant)) @definition.constant

;; Type parameters of generic classes, interfaces, records and methods.
(_
  type_parameters: (type_parameters
    (type_parameter . (type_identifier) @local.name))) @local.scope

;; --- calls ---------------------------------------------------------------------------------------------------

;; `f()`, `obj.f()`, `Type.<T>f()`, `new Foo()`, `new Foo<>()`, `new a.b.Foo()`, `Foo::bar` method references.
(method_invocation
  !object
  name: (identifier) @name.reference.call) @reference.call
(method_invocation
  object: (_) @qualifier
  name: (identifier) @name.reference.call) @reference.call
(object_creation_expression
  type: [(type_identifier) @name.reference.call
         (generic_type (type_identifier) @name.reference.call)
         (scoped_type_identifier (_) @qualifier . (type_identifier) @name.reference.call .)
         (generic_type (scoped_type_identifier (_) @qualifier . (type_identifier) @name.reference.call .))]) @reference.call
(method_reference
  (_) @qualifier
  .
  "::"
  .
  (identifier) @name.reference.call) @reference.call

;; --- inheritance and types -----------------------------------------------------------------------------------

;; `extends Base<T>`, `implements I, a.b.J`, an interface's `extends I1, I2`.
(superclass
  [(type_identifier) @name.reference.inherit
   (generic_type (type_identifier) @name.reference.inherit)
   (scoped_type_identifier (_) @qualifier . (type_identifier) @name.reference.inherit .)
   (generic_type (scoped_type_identifier (_) @qualifier . (type_identifier) @name.reference.inherit .))])
(super_interfaces
  (type_list
    [(type_identifier) @name.reference.inherit
     (generic_type (type_identifier) @name.reference.inherit)
     (scoped_type_identifier (_) @qualifier . (type_identifier) @name.reference.inherit .)
     (generic_type (scoped_type_identifier (_) @qualifier . (type_identifier) @name.reference.inherit .))]))
(extends_interfaces
  (type_list
    [(type_identifier) @name.reference.inherit
     (generic_type (type_identifier) @name.reference.inherit)
     (scoped_type_identifier (_) @qualifier . (type_identifier) @name.reference.inherit .)
     (generic_type (scoped_type_identifier (_) @qualifier . (type_identifier) @name.reference.inherit .))]))

;; Every other type name (fields, parameters, locals, generic arguments, casts, throws, catch), unless it names a
;; type parameter in scope. In `a.b.Foo` only Foo is a reference (qualified by `a.b`): the path is ignored.
(type_identifier) @name.reference.type
(scoped_type_identifier
  (_) @qualifier
  .
  (type_identifier) @name.reference.type .)
(scoped_type_identifier
  (_) @ignore
  .
  (type_identifier) .)

;; Annotations: `@Override`, `@Inject`, `@a.b.Ann(...)`.
(marker_annotation
  name: [(identifier) @name.reference.type
         (scoped_identifier scope: (_) @qualifier name: (identifier) @name.reference.type)])
(annotation
  name: [(identifier) @name.reference.type
         (scoped_identifier scope: (_) @qualifier name: (identifier) @name.reference.type)])

;; --- imports -------------------------------------------------------------------------------------------------

;; `import a.b.C;`, `import a.b.*;`, `import static a.b.C.m;` (static and wildcard forms read in extract.py).
(import_declaration
  [(identifier) (scoped_identifier)] @name.reference.import) @reference.import
