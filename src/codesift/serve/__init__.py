"""Servers over the library: the MCP server for coding agents (mcp.py, tools*.py) and HTTP.

Each is a thin adapter built by a factory over one `codesift.api.Index`; nothing here is global.
"""
