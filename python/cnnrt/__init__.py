"""cnnrt: a CNN inference engine."""
