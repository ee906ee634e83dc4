"""compliance — arrives with its issue (see DESIGN.md)."""
