"""Evaluates Trino OPA-plugin requests with the real OPA engine (PyPI's
opa-golib-python-bindings, which embeds OPA's Go library) over the bundle that
`charter export --target trino-rego` wrote.

usage: opa_trino.py BUNDLE_DIR < cases.json > answers.json

cases.json is a list of {"endpoint": "allow"|"batch"|"rowFilters"|"columnMask"|
"batchColumnMasks", "input": {...}}. Each answer is {"result": value} as OPA's REST API
answers, {"undefined": true} when the document is undefined (OPA answers `{}`), or
{"error": message} when evaluation fails (OPA answers HTTP 500).

The bundle is loaded as OPA's bundle loader loads a folder: every `.rego` file is a
module, and every `data.json` is placed at the path of its folder.
"""

import json
import os
import sys

from opa_bindings import OpaEngine, OpaError, OpaUndefinedError


def load(engine, root):
    data = {}
    for folder, _, files in sorted(os.walk(root)):
        rel = os.path.relpath(folder, root)
        segments = [] if rel == "." else rel.split(os.sep)
        for name in sorted(files):
            path = os.path.join(folder, name)
            if name.endswith(".rego"):
                with open(path, encoding="utf-8") as f:
                    engine.add_policy(os.path.relpath(path, root), f.read())
            elif name == "data.json":
                with open(path, encoding="utf-8") as f:
                    value = json.load(f)
                node = data
                for segment in segments:
                    node = node.setdefault(segment, {})
                if not isinstance(value, dict):
                    raise SystemExit(f"{path}: not a JSON object")
                for key, item in value.items():
                    if key in node:
                        raise SystemExit(f"{path}: `{key}` is defined twice")
                    node[key] = item
    engine.add_data(data)


def main():
    engine = OpaEngine()
    load(engine, sys.argv[1])
    answers = []
    for case in json.load(sys.stdin):
        try:
            value = engine.eval_document(
                "charter.trino." + case["endpoint"], input=case["input"]
            )
            answers.append({"result": value})
        except OpaUndefinedError:
            answers.append({"undefined": True})
        except OpaError as e:
            answers.append({"error": f"{e.code}: {e.message}"})
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
