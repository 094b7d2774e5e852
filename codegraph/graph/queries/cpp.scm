;; C++ graph query (tree-sitter-cpp 0.23): the C patterns (c.scm) with C++ names, plus classes, namespaces,
;; templates, members. Capture convention: README.md in this folder.

;; --- definitions ---------------------------------------------------------------------------------------------

;; Function definitions, returning by value, pointer or reference. The name may be qualified (`Foo::bar`,
;; `ns::Foo<T>::bar`: extract.py makes Foo the owner and the function a method), a destructor, an operator or a
;; template specialisation. Prototypes at namespace level (no body) are not definitions.
(function_definition
  declarator: [
    (function_declarator declarator: [(identifier) (field_identifier) (qualified_identifier) (destructor_name) (operator_name) (template_function)] @name.definition.function)
    (pointer_declarator
      declarator: (function_declarator declarator: [(identifier) (field_identifier) (qualified_identifier) (operator_name) (template_function)] @name.definition.function))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator declarator: [(identifier) (field_identifier) (qualified_identifier) (operator_name) (template_function)] @name.definition.function)))
    (reference_declarator
      (function_declarator declarator: [(identifier) (field_identifier) (qualified_identifier) (operator_name) (template_function)] @name.definition.function))
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function))))
  ]) @definition.function

;; Member functions declared in a class body (`void send(int);`, `virtual int recv() = 0;`, constructors).
(field_declaration_list
  (field_declaration
    declarator: [
      (function_declarator declarator: [(field_identifier) (destructor_name) (operator_name)] @name.definition.method)
      (pointer_declarator declarator: (function_declarator declarator: [(field_identifier) (operator_name)] @name.definition.method))
      (reference_declarator (function_declarator declarator: [(field_identifier) (operator_name)] @name.definition.method))
    ]) @definition.method)
(field_declaration_list
  (declaration
    declarator: (function_declarator declarator: [(identifier) (destructor_name)] @name.definition.method)) @definition.method)

(class_specifier
  name: [(type_identifier) (qualified_identifier) (template_type)] @name.definition.class
  body: (_)) @definition.class

;; `namespace a { ... }`, `namespace a::b { ... }` (an anonymous namespace is not a definition).
(namespace_definition
  name: [(namespace_identifier) (nested_namespace_specifier)] @name.definition.module) @definition.module

;; `using Alias = T;` and `template <class T> using Vec = std::vector<T>;`
(alias_declaration
  name: (type_identifier) @name.definition.type) @definition.type

;; Template parameters: uses of T inside the template are not references.
(template_declaration
  parameters: (template_parameter_list
    [(type_parameter_declaration (type_identifier) @local.name)
     (optional_type_parameter_declaration name: (type_identifier) @local.name)
     (variadic_type_parameter_declaration (type_identifier) @local.name)])) @local.scope

;; `typedef struct tag { ... } name_t;`: both the tag and the typedef name define the struct (over the whole
;; typedef); these patterns come before the plain ones so that they win for the tag.
(type_definition
  type: (struct_specifier name: (type_identifier) @name.definition.struct body: (_))) @definition.struct
(type_definition
  type: (union_specifier name: (type_identifier) @name.definition.struct body: (_))) @definition.struct
(type_definition
  type: (enum_specifier name: (type_identifier) @name.definition.enum body: (_))) @definition.enum
(type_definition
  type: [(struct_specifier body: (_)) (union_specifier body: (_))]
  declarator: [(type_identifier) @name.definition.struct
               (pointer_declarator declarator: (type_identifier) @name.definition.struct)]) @definition.struct
(type_definition
  type: (enum_specifier body: (_))
  declarator: (type_identifier) @name.definition.enum) @definition.enum
;; Other typedefs: `typedef int id_t;`, `typedef struct x *x_ptr;`, `typedef int (*cb_t)(int);`.
(type_definition
  declarator: [(type_identifier) @name.definition.type
               (pointer_declarator declarator: (type_identifier) @name.definition.type)
               (function_declarator
                 declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name.definition.type)))]) @definition.type

(struct_specifier
  name: [(type_identifier) (qualified_identifier) (template_type)] @name.definition.struct
  body: (_)) @definition.struct
(union_specifier
  name: [(type_identifier) (qualified_identifier) (template_type)] @name.definition.struct
  body: (_)) @definition.struct
(enum_specifier
  name: [(type_identifier) (qualified_identifier)] @name.definition.enum
  body: (_)) @definition.enum

;; `#define NAME value` is a constant, `#define NAME(args) ...` is called like a function.
(preproc_def
  name: (identifier) @name.definition.constant) @definition.constant
(preproc_function_def
  name: (identifier) @name.definition.function) @definition.function

;; --- calls ---------------------------------------------------------------------------------------------------

;; `f(x)`, `obj.f(x)`, `ptr->f(x)`, `ns::f(x)`, `Foo::make()`, `f<T>(x)`, `obj.template f<T>()`.
(call_expression
  function: [(identifier) @name.reference.call
             (template_function name: (identifier) @name.reference.call)]) @reference.call
(call_expression
  function: (field_expression
    argument: (_) @qualifier
    field: [(field_identifier) @name.reference.call
            (template_method name: (field_identifier) @name.reference.call)])) @reference.call
(call_expression
  function: (qualified_identifier
    scope: (_) @qualifier
    name: [(identifier) @name.reference.call
           (template_function name: (identifier) @name.reference.call)])) @reference.call

;; `new Foo(...)`, `new ns::Foo<T>(...)`.
(new_expression
  type: [(type_identifier) @name.reference.call
         (template_type name: (type_identifier) @name.reference.call)
         (qualified_identifier scope: (_) @qualifier name: (type_identifier) @name.reference.call)
         (qualified_identifier scope: (_) @qualifier name: (template_type name: (type_identifier) @name.reference.call))]) @reference.call

;; --- inheritance ---------------------------------------------------------------------------------------------

;; `class A : public Base<T>, private ns::Other`
(base_class_clause
  [(type_identifier) @name.reference.inherit
   (template_type name: (type_identifier) @name.reference.inherit)
   (qualified_identifier scope: (_) @qualifier name: (type_identifier) @name.reference.inherit)
   (qualified_identifier scope: (_) @qualifier name: (template_type name: (type_identifier) @name.reference.inherit))])

;; --- types ---------------------------------------------------------------------------------------------------

;; Every type name that is not a definition's (`struct node *n`, `node_t x`, casts, `sizeof(struct node)`);
;; built-in types (`int`, `size_t`) are `primitive_type` nodes, `auto` a placeholder. `std::string`: string in std.
(type_identifier) @name.reference.type
(qualified_identifier
  scope: (_) @qualifier
  name: [(type_identifier) @name.reference.type
         (template_type name: (type_identifier) @name.reference.type)])

;; --- imports -------------------------------------------------------------------------------------------------

;; `#include "local.h"` (a repository file candidate) and `#include <stdio.h>` (system).
(preproc_include
  path: (string_literal (string_content) @name.reference.import)) @reference.import
(preproc_include
  path: (system_lib_string) @name.reference.import) @reference.import
