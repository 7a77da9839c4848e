"""Debug: reproduces and explains students' errors."""
