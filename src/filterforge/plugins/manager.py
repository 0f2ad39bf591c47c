"""The plugin manager: built-ins and third-party plugins are registered the same way."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from typing import Any, Callable

import pluggy

from filterforge.version import __version__
from filterforge.plugins import hookspecs
from filterforge.errors import FilterforgeError

DEFAULT_PLUGINS = (
    "filterforge.plugins.builtins.commands",
    "filterforge.plugins.builtins.strategies",
    "filterforge.plugins.builtins.heads",
    "filterforge.plugins.builtins.model_sources",
    "filterforge.plugins.builtins.filter_paths",
    "filterforge.plugins.builtins.prefilter",
)
ENTRY_POINT_GROUP = "filterforge"
LOAD_PLUGINS_ENV = "FILTERFORGE_LOAD_PLUGINS"

pm = pluggy.PluginManager("filterforge")
pm.add_hookspecs(hookspecs)

_loaded = False
_dists: dict[str, Any] = {}


def load_plugins() -> pluggy.PluginManager:
    """Register built-ins, then third-party entry points (all, or those named in FILTERFORGE_LOAD_PLUGINS)."""
    global _loaded
    if _loaded:
        return pm
    _loaded = True
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name.rsplit(".", 1)[-1])
    wanted = os.environ.get(LOAD_PLUGINS_ENV)
    names = None if wanted is None else {name.strip() for name in wanted.split(",") if name.strip()}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist_name = entry_point.dist.name if entry_point.dist else None
        if names is not None and not names & {entry_point.name, dist_name}:
            continue
        if pm.get_plugin(entry_point.name) is None:
            try:
                plugin = entry_point.load()
            except Exception as exc:
                raise FilterforgeError(
                    f"plugin '{entry_point.name}' ({entry_point.value}) failed to load: {type(exc).__name__}: {exc}; "
                    f"set {LOAD_PLUGINS_ENV} to the plugins to load (empty for none)"
                ) from None
            register_plugin(plugin, entry_point.name, entry_point.dist)
    return pm


def register_plugin(plugin: Any, name: str, dist: Any = None) -> None:
    """Register a plugin module or object (what entry points and tests use)."""
    pm.register(plugin, name=name)
    if dist is not None:
        _dists[name] = dist


def plugin_listing() -> list[dict[str, Any]]:
    """Name, version and implemented hooks of every registered plugin (what `filterforge plugins` prints)."""
    load_plugins()
    listing = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:
            continue
        dist = _dists.get(name)
        entry: dict[str, Any] = {
            "name": dist.metadata["Name"] if dist is not None else name,
            "version": dist.version if dist is not None else __version__,
            "hooks": sorted(impl.name for impl in pm.get_hookcallers(plugin) or []),
        }
        if dist is None:
            entry["builtin"] = name in {m.rsplit(".", 1)[-1] for m in DEFAULT_PLUGINS}
        listing.append(entry)
    return listing


def _collect(hook_name: str, kind: str, key: Callable[[Any], str]) -> dict[str, Any]:
    load_plugins()
    found: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():

        def register(item: Any, _plugin: str = impl.plugin_name) -> None:
            name = key(item)
            if name in found:
                raise FilterforgeError(
                    f"{kind} '{name}' is registered twice: by plugin '{owners[name]}' and by plugin '{_plugin}'"
                )
            found[name] = item
            owners[name] = _plugin

        impl.function(register=register)
    for name, item in found.items():
        try:
            item.plugin_name = owners[name]
        except (AttributeError, TypeError):
            pass
    return found


def get_strategies() -> dict[str, Any]:
    return _collect("register_strategies", "strategy", lambda cls: cls.name)


def get_heads() -> dict[str, Any]:
    return _collect("register_heads", "head", lambda cls: cls.name)


def get_poolings() -> dict[str, Any]:
    return _collect("register_poolings", "pooling", lambda cls: cls.name)


def get_model_sources() -> dict[str, Any]:
    return _collect("register_model_sources", "model source", lambda source: source.name)


def get_filter_paths() -> list:
    load_plugins()
    paths: list = []
    for impl in pm.hook.register_filter_paths.get_hookimpls():
        impl.function(register=paths.append)
    return paths


def lookup(kind: str, name: str, registry: dict[str, Any]) -> Any:
    """Fetch a registered item or fail with one line listing the known names."""
    if name not in registry:
        known = ", ".join(sorted(registry)) or "none"
        raise FilterforgeError(f"unknown {kind} '{name}' (known: {known})")
    return registry[name]
