;; Ruby graph query (tree-sitter-ruby 0.23). Capture convention: README.md in this folder.

;; --- definitions ---------------------------------------------------------------------------------------------

;; `class Foo`, `class Foo::Bar < Base` (Foo becomes part of the scope), `module A::B`.
(class
  name: [(constant) (scope_resolution)] @name.definition.class) @definition.class
(module
  name: [(constant) (scope_resolution)] @name.definition.module) @definition.module

;; `def name` (in a class or module it becomes a method in extract.py; inside `class << self` too, owned by the
;; class around it), `def self.name` and `def Const.name` (owned by Const), `def obj.name`.
(method
  name: (_) @name.definition.function) @definition.function
(singleton_method
  object: (self)
  name: (_) @name.definition.method) @definition.method
(singleton_method
  object: [(constant) (scope_resolution)] @scope
  name: (_) @name.definition.method) @definition.method
;; `def obj.name` on any other object: a method with no owner of its own.
(singleton_method
  name: (_) @name.definition.method) @definition.method

;; `attr_reader :name, :size` (and attr_writer / attr_accessor) define methods.
((call
   !receiver
   method: (identifier) @_attr
   arguments: (argument_list (simple_symbol) @name.definition.method)) @definition.method
  (#match? @_attr "^attr_(reader|writer|accessor)$"))

;; Constants: `MAX = 3` (`Foo::MAX = 3` is not a definition here).
(assignment
  left: (constant) @name.definition.constant) @definition.constant

;; --- calls ---------------------------------------------------------------------------------------------------

;; `f(x)`, `f x`, `URI(x)`, `obj.f`, `obj&.f`, `Foo::Bar.new`, `Foo.f { }`. A bare `f` (no receiver, no arguments) reads
;; like a local variable and is not captured. `require`, `include` and friends are imports/inheritance below.
((call
   !receiver
   method: [(identifier) (constant)] @name.reference.call) @reference.call
  (#not-match? @name.reference.call "^(require|require_relative|load|autoload|include|extend|prepend|attr_reader|attr_writer|attr_accessor|private|protected|public|module_function|private_constant)$"))
(call
  receiver: (_) @qualifier
  method: [(identifier) (constant)] @name.reference.call) @reference.call

;; `Foo.new(...)`, `Foo::Bar.new`: the class is called (a constructor call, like `new Foo()` elsewhere).
((call
   receiver: [(constant) @name.reference.call
              (scope_resolution scope: (_) @qualifier name: (constant) @name.reference.call)]
   method: (identifier) @_new) @reference.call
  (#eq? @_new "new"))

;; --- inheritance and types -----------------------------------------------------------------------------------

;; `class A < Base`, `class A < Foo::Base`.
(class
  superclass: (superclass
    [(constant) @name.reference.inherit
     (scope_resolution scope: (_) @qualifier name: (constant) @name.reference.inherit)]))

;; Mixins: `include Comparable`, `extend Forwardable`, `prepend Foo::Hooks` (at the class or module level).
((call
   !receiver
   method: (identifier) @_mixin
   arguments: (argument_list
     [(constant) @name.reference.inherit
      (scope_resolution scope: (_) @qualifier name: (constant) @name.reference.inherit)]))
  (#match? @_mixin "^(include|extend|prepend)$"))

;; Rescued exceptions: `rescue ArgumentError, Foo::Error => e`.
(rescue
  exceptions: (exceptions
    [(constant) @name.reference.type
     (scope_resolution scope: (_) @qualifier name: (constant) @name.reference.type)]))

;; --- imports -------------------------------------------------------------------------------------------------

;; `require "json"`, `load "tasks.rb"`, `require_relative "../lib/x"` (relative to this file; read in
;; extract.py). A path built by interpolation is not captured.
((call
   !receiver
   method: (identifier) @_require
   arguments: (argument_list . (string . (string_content) @name.reference.import .) .)) @reference.import
  (#match? @_require "^(require|require_relative|load)$"))
