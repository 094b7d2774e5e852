"""The code graph: definitions, references, calls and imports extracted from the same parse as the chunks."""
