# SPDX-License-Identifier: GPL-2.0
"""Reading hugedma.json: the parsed schema and the lookups over it that
validation, the facts and the renderers share.  A lookup never fails on a
malformed schema: it answers None or [] (validation reports the problem)."""
import json

STATE_FILE = "state"	# allowed_states are values of the state file beside (or in) an entry
BUSY = "EBUSY"


class Schema:
    """The parsed schema (data, as json.load gives it) and lookups over it."""

    def __init__(self, data):
        self.data = data

    def entry(self, path):
        for e in self.data.get("entries", []):
            if isinstance(e, dict) and e.get("path") == path:
                return e
        return None

    def type_of(self, e):
        return self.data.get("types", {}).get(e.get("type"), {})

    def state_entry(self, e):
        """The state file whose values e's allowed_states name: the one beside a
        file, the one in a directory."""
        base = e["path"] if e.get("kind") == "dir" else e["path"].rsplit("/", 1)[0]
        return self.entry(f"{base}/{STATE_FILE}")

    def states(self, e):
        se = self.state_entry(e)
        if se is None or not isinstance(self.data.get("types"), dict):
            return []
        values = self.type_of(se).get("values", [])
        return values if isinstance(values, list) else []

    def node_entry(self, path):
        for n in self.data.get("device_nodes", {}).get("entries", []):
            if isinstance(n, dict) and n.get("path") == path:
                return n
        return None

    def inherited_entry(self, path):
        for i in self.data.get("inherited", {}).get("entries", []):
            if isinstance(i, dict) and i.get("path") == path:
                return i
        return None

    def node_devices(self):
        """The sysfs directories of the device nodes."""
        return [n["device"] for n in self.data.get("device_nodes", {}).get("entries", [])
                if isinstance(n, dict) and isinstance(n.get("device"), str)]

    def document_of(self, path):
        """The document whose root is path or one of its ancestors."""
        for doc, root in self.data.get("documents", {}).items():
            if path == root or path.startswith(root + "/"):
                return doc
        return None


def load(path):
    """The schema in the JSON file path; raises OSError or ValueError."""
    with open(path, encoding="utf-8") as f:
        return Schema(json.load(f))
