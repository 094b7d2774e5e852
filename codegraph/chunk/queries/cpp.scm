(function_definition) @definition.function
(class_specifier name: (_) @name body: (_)) @definition.class
(struct_specifier name: (_) @name body: (_)) @definition.class
(union_specifier name: (_) @name body: (_)) @definition.class
(enum_specifier name: (_) @name body: (_)) @definition.class
(type_definition
  type: [(struct_specifier !name body: (_)) (class_specifier !name body: (_))]
  declarator: (type_identifier) @name) @definition.class
(namespace_definition name: (_) @name) @definition.module
