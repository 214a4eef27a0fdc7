"""An instance plugin in Python: machines kept in memory, in the component instance.

Built with componentize-py against the world
`deploykit:plugin/instance-plugin@0.1.0`:

    componentize-py -d wit/since_v0.1.0 -w instance-plugin componentize app -o instance-memory-py.wasm

It behaves like the Rust sample `instance-file`, except that instances live in
a dictionary instead of files: IDs are `instance-<n>` with n counting from 1,
label merges tags, destroying an unknown ID is a `not-found` error, describe
AND-filters by tags and gives properties only when asked, and validate wants
a JSON object.

The host keeps a pool of warm instances of each plugin and may drop any of
them (after a fault, say), so this state lasts only as long as one instance:
give the plugin `pool-size = 1` in its manifest so that every call sees the
same dictionary while the instance lives.

Errors: raising `componentize_py_types.Err(<a WIT error case>)` returns the
error case of the WIT `result`. Any other uncaught exception traps the
component: properties `{"act": "crash"}` make provision do that on purpose.
"""

import json
from typing import Dict, List, Optional, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log, types
from wit_world.imports.types import (
    Error_InvalidInput,
    Error_NotFound,
    InstanceDescription,
    InstanceSpec,
)

# InfraKit's tag for an instance's logical ID.
LOGICAL_ID_TAG = "infrakit.logical_id"


class Record:
    """One instance: its ID, logical ID, tags and the spec it was made from."""

    def __init__(self, id: str, spec: InstanceSpec):
        self.id = id
        self.logical_id = spec.logical_id
        self.tags: Dict[str, str] = dict(spec.tags)
        self.spec = spec

    def matches(self, tags: List[Tuple[str, str]]) -> bool:
        """True when the instance carries every pair (a missing tag reads as "")."""
        return all(self.tags.get(k, "") == v for k, v in tags)

    def spec_json(self) -> str:
        """The spec as InfraKit's JSON, as instance-file stores it."""
        spec = self.spec
        return json.dumps(
            {
                "Properties": None if spec.properties is None else json.loads(spec.properties),
                "Tags": dict(sorted(spec.tags)),
                "Init": spec.init,
                "LogicalID": spec.logical_id,
                "Attachments": [{"ID": a.id, "Type": a.kind} for a in spec.attachments],
            },
            separators=(",", ":"),
        )

    def describe(self, properties: bool) -> InstanceDescription:
        return InstanceDescription(
            id=self.id,
            logical_id=self.logical_id or self.tags.get(LOGICAL_ID_TAG),
            tags=sorted(self.tags.items()),
            properties=self.spec_json() if properties else None,
        )


# The instances of this component instance, by ID, in provisioning order.
INSTANCES: Dict[str, Record] = {}
NEXT = 1


def parse(text: Optional[str]):
    """Parses properties JSON; malformed JSON is `invalid-input`."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as e:
        raise Err(Error_InvalidInput(f"invalid properties: {e}"))


def find(id: str, op: str) -> Record:
    record = INSTANCES.get(id)
    if record is None:
        raise Err(Error_NotFound(f"{op} {id}: no such instance"))
    return record


class Instance(exports.Instance):
    def validate(self, properties: str) -> None:
        """Properties must be a JSON object (or null, which InfraKit also accepts)."""
        value = parse(properties)
        if value is not None and not isinstance(value, dict):
            kind = {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
            raise Err(Error_InvalidInput(f"properties must be a JSON object, not {kind}"))

    def provision(self, spec: InstanceSpec) -> str:
        global NEXT
        props = parse(spec.properties)
        if isinstance(props, dict) and props.get("act") == "crash":
            # Not an Err: an uncaught exception, which traps the component.
            raise RuntimeError("instance-memory-py was asked to crash")
        id = f"instance-{NEXT}"
        NEXT += 1
        INSTANCES[id] = Record(id, spec)
        log.log(log.Level.DEBUG, f"provisioned {id}")
        return id

    def label(self, id: str, labels: List[Tuple[str, str]]) -> None:
        find(id, "label").tags.update(labels)

    def destroy(self, id: str, reason: types.DestroyReason) -> None:
        find(id, "destroy")
        del INSTANCES[id]
        log.log(log.Level.DEBUG, f"destroyed {id} ({reason.name.lower()})")

    def describe_instances(
        self, tags: List[Tuple[str, str]], properties: bool
    ) -> List[InstanceDescription]:
        """The instances carrying all of `tags`, in provisioning order."""
        return [r.describe(properties) for r in INSTANCES.values() if r.matches(tags)]
