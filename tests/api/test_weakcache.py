"""Values kept per object identity live exactly as long as their object."""

from __future__ import annotations

import gc

from baton.api.pipeline import PipelineSpec
from baton.api.weakcache import IdentityCache
from baton.core.dag import _DAGS, dag_of


class Thing:
    pass


def test_a_value_is_made_once_per_object_and_goes_with_it() -> None:
    cache: IdentityCache[Thing, list[int]] = IdentityCache()
    made: list[int] = []
    a, b = Thing(), Thing()
    first = cache.get_or_make(a, lambda _: made.append(1) or [1])
    assert cache.get_or_make(a, lambda _: [2]) is first and made == [1]
    cache.put(b, [])
    assert cache.get(b) == [] and len(cache) == 2  # an empty value is a value
    del a
    gc.collect()
    assert len(cache) == 1


def test_an_object_at_a_reused_address_gets_its_own_value() -> None:
    cache: IdentityCache[Thing, int] = IdentityCache()
    for i in range(200):  # CPython reuses addresses of freed objects: none may see another's value
        thing = Thing()
        assert cache.get(thing) is None
        cache.put(thing, i)
        del thing
    gc.collect()
    assert len(cache) == 0


def test_parsed_specs_are_not_kept_alive_by_their_dags() -> None:
    before = len(_DAGS)
    for _ in range(5):
        spec = PipelineSpec.model_validate({"tasks": [{"name": "a", "image": "x", "command": ["true"]}]})
        dag_of(spec)
        del spec
    gc.collect()
    assert len(_DAGS) == before
