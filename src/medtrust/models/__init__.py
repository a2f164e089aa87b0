"""Model backends behind one interface, named by model strings (see registry.resolve)."""
