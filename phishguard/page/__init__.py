"""Fake payment pages: a safe fetcher (:mod:`.fetch`, :mod:`.guard`) and a page analyzer (:mod:`.analyze`).

The analyzer is pure (HTML + URL in, :class:`PageView` out); page-scope matchers live in
:mod:`.matchers` and the rules in ``rules/page.yaml``.
"""

from .analyze import Field, Form, PageView, analyze_page
from .guard import AddressGuard

__all__ = ["AddressGuard", "Field", "Form", "PageView", "analyze_page"]
