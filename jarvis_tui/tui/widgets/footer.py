"""The footer, fitted to the terminal: keys by their rank in the actions table until the line is
full (at 80 columns the everyday ones; sort, metrics and fresh retry from about 110), then the
``^p palette`` hint if there is room. Nothing scrolls off: what is left out is on ``?``.

Textual's footer rebuilds its keys (a widget each) whenever the screen's bindings are
refreshed, focus moves or the size changes; this one rebuilds only when what it would show
changed (at start-up that was six rebuilds of 18 keys, ~20 ms each, right after the first
paint)."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # not exported; the tests pin Textual (constraints.txt)

from ..actions import footer_rank

UNRANKED = 99  # a shown binding the actions table does not rank (a dialog's own): kept last


def key_width(key: FooterKey) -> int:
    """Cells a compact footer key takes: ``n Spawn`` and the gap after it."""
    return len(key.key_display) + 1 + len(key.description) + 1


def fit(keys: list[FooterKey], width: int, scope: str | None = None) -> list[FooterKey]:
    """The keys that fit ``width``, best-ranked first (by ``scope``'s rows), in their original order."""
    ranked = sorted(keys, key=lambda k: footer_rank(k.action, scope) or UNRANKED)
    kept: set[int] = set()
    used = 0
    for key in ranked:
        used += key_width(key)
        if used > width:
            break
        kept.add(id(key))
    return [key for key in keys if id(key) in kept]


class KeysFooter(Footer):
    def __init__(self, scope: str | None = None) -> None:
        super().__init__(compact=True, show_command_palette=True)
        self.fitted_width = 0
        self.scope = scope  # whose ranks (the actions table's scope); None: the main screen's
        self.shown: tuple[Any, ...] | None = None  # what the keys were built from (see recompose)
        self.rebuilds = 0  # keys built again (what the tests count)

    def showing(self) -> tuple[Any, ...]:
        """What the keys are built from: the width, whether the bindings are known yet, and each
        active binding (its key, label, action, shown, enabled, tooltip)."""
        bindings = tuple(
            (b.key, b.description, b.action, b.show, enabled, tooltip)
            for _, b, enabled, tooltip in self.screen.active_bindings.values()
        )
        return (self.app.size.width, self._bindings_ready, bindings)

    async def recompose(self) -> None:
        if self.is_attached and self.showing() == self.shown:
            return  # the same keys: nothing to rebuild
        await super().recompose()

    def compose(self) -> ComposeResult:
        self.shown = self.showing()
        self.rebuilds += 1
        width = self.app.size.width
        self.fitted_width = width
        widgets: list[Widget] = list(super().compose())
        palette = [w for w in widgets if w.has_class("-command-palette")]
        keys = [w for w in widgets if isinstance(w, FooterKey) and w not in palette]
        shown = fit(keys, width, self.scope)
        yield from shown
        room = width - sum(key_width(k) for k in shown)
        for hint in palette:
            if isinstance(hint, FooterKey) and room >= key_width(hint) + 3:
                yield hint

    def on_resize(self, event: events.Resize) -> None:
        if self.app.size.width != self.fitted_width:
            self.call_after_refresh(self.recompose)
