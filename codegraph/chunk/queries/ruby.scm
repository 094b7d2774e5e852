(method name: (_) @name) @definition.function
(singleton_method name: (_) @name) @definition.function
(class name: (_) @name) @definition.class
(singleton_class) @definition.class
(module name: (_) @name) @definition.module
