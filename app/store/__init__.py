"""Redis state. Only store/keys.py builds key strings; changes that must happen together are one
Lua script or pipeline inside a store method named for the domain action."""
