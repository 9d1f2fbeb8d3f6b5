"""The hosted form page, the embed loader and snippets."""
