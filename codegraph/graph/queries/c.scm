;; C graph query (tree-sitter-c 0.24). Capture convention: README.md in this folder.

;; --- definitions ---------------------------------------------------------------------------------------------

;; Function definitions, returning by value or pointer (and a function returning a function pointer). Prototypes
;; (declarations without a body) are not definitions.
(function_definition
  declarator: [
    (function_declarator declarator: (identifier) @name.definition.function)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function))
    (pointer_declarator
      declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function)))
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function))))
  ]) @definition.function

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
  name: (type_identifier) @name.definition.struct
  body: (_)) @definition.struct
(union_specifier
  name: (type_identifier) @name.definition.struct
  body: (_)) @definition.struct
(enum_specifier
  name: (type_identifier) @name.definition.enum
  body: (_)) @definition.enum

;; `#define NAME value` is a constant, `#define NAME(args) ...` is called like a function.
(preproc_def
  name: (identifier) @name.definition.constant) @definition.constant
(preproc_function_def
  name: (identifier) @name.definition.function) @definition.function

;; --- calls ---------------------------------------------------------------------------------------------------

;; `f(x)`, `obj.f(x)`, `ptr->f(x)` (a call through a function-pointer field).
(call_expression
  function: (identifier) @name.reference.call) @reference.call
(call_expression
  function: (field_expression
    argument: (_) @qualifier
    field: (field_identifier) @name.reference.call)) @reference.call

;; --- types ---------------------------------------------------------------------------------------------------

;; Every type name that is not a definition's (`struct node *n`, `node_t x`, casts, `sizeof(struct node)`);
;; built-in types (`int`, `size_t`, `uint8_t`) are `primitive_type` nodes.
(type_identifier) @name.reference.type

;; --- imports -------------------------------------------------------------------------------------------------

;; `#include "local.h"` (a repository file candidate) and `#include <stdio.h>` (system).
(preproc_include
  path: (string_literal (string_content) @name.reference.import)) @reference.import
(preproc_include
  path: (system_lib_string) @name.reference.import) @reference.import
