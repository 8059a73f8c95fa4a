"""The resource graph's invariants (tests/infra/checks.py), on both stack files and on generated configurations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given

from localcloud.graph import Graph, capture

from .checks import INVARIANTS, Expect
from .strategies import hypothesis_settings, valid_configs

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("invariant", INVARIANTS, ids=lambda check: check.__name__)
def test_invariant_holds_for_the_stack_files(stack_graph: Graph, invariant: Callable[[Graph, Expect], None]) -> None:
    # Given the graph of a stack as its Pulumi.<stack>.yaml declares it
    # Then the invariant holds
    invariant(stack_graph, Expect(stack_graph))


@hypothesis_settings()
@given(stack_and_config=valid_configs())
def test_every_invariant_holds_for_any_valid_configuration(stack_and_config: tuple[str, dict[str, Any]]) -> None:
    # Given any configuration within the allowed ranges, over either stack file
    stack, config = stack_and_config
    # When the program runs
    graph = capture(stack, config)
    # Then every invariant holds (one run of the program checks them all)
    expect = Expect(graph)
    for invariant in INVARIANTS:
        invariant(graph, expect)
