;; TSX additions to typescript.scm (tree-sitter-typescript 0.23, tsx grammar).

;; JSX components (capitalised tags; lower-case tags are HTML elements): `<Button />`, `<Form.Item>`.
((jsx_opening_element name: (identifier) @name.reference.call) @reference.call
  (#match? @name.reference.call "^[A-Z]"))
((jsx_self_closing_element name: (identifier) @name.reference.call) @reference.call
  (#match? @name.reference.call "^[A-Z]"))
(jsx_opening_element
  name: (member_expression object: (_) @qualifier property: (property_identifier) @name.reference.call)) @reference.call
(jsx_self_closing_element
  name: (member_expression object: (_) @qualifier property: (property_identifier) @name.reference.call)) @reference.call

