;; C# graph query (tree-sitter-c-sharp 0.23). Capture convention: README.md in this folder.

;; --- definitions ---------------------------------------------------------------------------------------------

(class_declaration
  name: (identifier) @name.definition.class) @definition.class
;; `record struct R(...)` is a struct; any other record a class.
(record_declaration
  "struct"
  name: (identifier) @name.definition.struct) @definition.struct
(record_declaration
  name: (identifier) @name.definition.class) @definition.class
(struct_declaration
  name: (identifier) @name.definition.struct) @definition.struct
(interface_declaration
  name: (identifier) @name.definition.interface) @definition.interface
(enum_declaration
  name: (identifier) @name.definition.enum) @definition.enum
(delegate_declaration
  name: (identifier) @name.definition.type) @definition.type

;; `namespace A.B { ... }` and the file-scoped `namespace A.B;` (which holds the declarations after it).
(namespace_declaration
  name: (_) @name.definition.module) @definition.module
(file_scoped_namespace_declaration
  name: (_) @name.definition.module) @definition.module

;; Methods with or without a body (interface, abstract, partial, extern), constructors, operators, local
;; functions. Destructors are not captured (never called by name).
(method_declaration
  name: (identifier) @name.definition.method) @definition.method
(constructor_declaration
  name: (identifier) @name.definition.method) @definition.method
(operator_declaration
  operator: _ @name.definition.method) @definition.method
(local_function_statement
  name: (identifier) @name.definition.function) @definition.function

;; `const` fields.
(field_declaration
  (modifier "const")
  (variable_declaration
    (variable_declarator name: (identifier) @name.definition.constant))) @definition.constant

;; Type parameters: uses of T inside the declaration are not references.
(_
  (type_parameter_list
    (type_parameter name: (identifier) @local.name))) @local.scope

;; --- calls ---------------------------------------------------------------------------------------------------

;; `F()`, `F<T>()`, `obj.F()`, `obj?.F()`, `Type.F<T>()`, `new Foo()`, `new Foo<T>()`, `new A.B.Foo()`.
(invocation_expression
  function: [(identifier) @name.reference.call
             (generic_name (identifier) @name.reference.call)]) @reference.call
(invocation_expression
  function: (member_access_expression
    expression: (_) @qualifier
    name: [(identifier) @name.reference.call
           (generic_name (identifier) @name.reference.call)])) @reference.call
(invocation_expression
  function: (conditional_access_expression
    condition: (_) @qualifier
    (member_binding_expression
      name: [(identifier) @name.reference.call
             (generic_name (identifier) @name.reference.call)]))) @reference.call
(object_creation_expression
  type: [(identifier) @name.reference.call
         (generic_name (identifier) @name.reference.call)
         (qualified_name qualifier: (_) @qualifier name: (identifier) @name.reference.call)
         (qualified_name qualifier: (_) @qualifier name: (generic_name (identifier) @name.reference.call))]) @reference.call

;; --- inheritance and types -----------------------------------------------------------------------------------

;; `class A : Base<T>, IFoo, Ns.IBar` (C# does not tell a base class from an interface by syntax).
(base_list
  [(identifier) @name.reference.inherit
   (generic_name (identifier) @name.reference.inherit)
   (qualified_name qualifier: (_) @qualifier name: (identifier) @name.reference.inherit)
   (qualified_name qualifier: (_) @qualifier name: (generic_name (identifier) @name.reference.inherit))])
(base_list
  (primary_constructor_base_type
    type: [(identifier) @name.reference.inherit
           (generic_name (identifier) @name.reference.inherit)
           (qualified_name qualifier: (_) @qualifier name: (identifier) @name.reference.inherit)]))

;; Types of fields, properties, parameters, locals, return values, casts, `is`/`as`, `typeof`, catch clauses and
;; generic arguments (`var` and built-in types such as `int` are other node types).
(_
  type: [(identifier) @name.reference.type
         (generic_name (identifier) @name.reference.type)
         (qualified_name qualifier: (_) @qualifier name: (identifier) @name.reference.type)
         (qualified_name qualifier: (_) @qualifier name: (generic_name (identifier) @name.reference.type))
         (nullable_type type: (identifier) @name.reference.type)
         (nullable_type type: (generic_name (identifier) @name.reference.type))
         (array_type type: (identifier) @name.reference.type)
         (array_type type: (generic_name (identifier) @name.reference.type))])
(_
  returns: [(identifier) @name.reference.type
            (generic_name (identifier) @name.reference.type)
            (qualified_name qualifier: (_) @qualifier name: (identifier) @name.reference.type)
            (qualified_name qualifier: (_) @qualifier name: (generic_name (identifier) @name.reference.type))
            (nullable_type type: (identifier) @name.reference.type)
            (array_type type: (identifier) @name.reference.type)])
(type_argument_list
  [(identifier) @name.reference.type
   (generic_name (identifier) @name.reference.type)
   (qualified_name qualifier: (_) @qualifier name: (identifier) @name.reference.type)])
(type_parameter_constraint
  type: [(identifier) @name.reference.type
         (generic_name (identifier) @name.reference.type)])

;; Attributes: `[Serializable]`, `[Route("x")]`.
(attribute
  name: [(identifier) @name.reference.type
         (qualified_name qualifier: (_) @qualifier name: (identifier) @name.reference.type)])

;; --- imports -------------------------------------------------------------------------------------------------

;; `using A.B;`, `using static A.B.C;`, `global using A;`, `using X = A.B;`.
(using_directive
  !name
  [(identifier) (qualified_name)] @name.reference.import) @reference.import
(using_directive
  name: (identifier) @import.alias
  [(identifier) (qualified_name)] @name.reference.import) @reference.import
