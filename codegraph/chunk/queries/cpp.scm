(function_definition) @definition.function
;; Out-of-class member definitions (`Foo::bar`, `Foo<T>::bar`, `Foo::~Foo`, `Foo::operator==`), returning by
;; value, pointer or reference: the qualifying type is the scope, as for a Go receiver. Deeper qualifications
;; (`ns::Foo::bar`) and conversion operators fall back to the plain pattern above (name read from the declarator).
(function_definition
  declarator: [
    (function_declarator
      declarator: (qualified_identifier
        scope: [(namespace_identifier) @scope (template_type name: (type_identifier) @scope)]
        name: [(identifier) (destructor_name) (operator_name)] @name))
    (pointer_declarator
      declarator: (function_declarator
        declarator: (qualified_identifier
          scope: [(namespace_identifier) @scope (template_type name: (type_identifier) @scope)]
          name: [(identifier) (destructor_name) (operator_name)] @name)))
    (reference_declarator
      (function_declarator
        declarator: (qualified_identifier
          scope: [(namespace_identifier) @scope (template_type name: (type_identifier) @scope)]
          name: [(identifier) (destructor_name) (operator_name)] @name)))
  ]) @definition.method
(class_specifier name: (_) @name body: (_)) @definition.class
(struct_specifier name: (_) @name body: (_)) @definition.class
(union_specifier name: (_) @name body: (_)) @definition.class
(enum_specifier name: (_) @name body: (_)) @definition.class
(type_definition
  type: [(struct_specifier body: (_)) (class_specifier body: (_)) (union_specifier body: (_)) (enum_specifier body: (_))]
  declarator: [(type_identifier) @name (pointer_declarator declarator: (type_identifier) @name)]) @definition.class
(namespace_definition name: (_) @name) @definition.module
