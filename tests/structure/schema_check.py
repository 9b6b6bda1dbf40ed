#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The committed results dirs match the JSON Schemas of docs/schema/, and the schemas can fail.

  tests/structure/schema_check.py [SOURCE_DIR]     (default: this checkout)

Validates every line of every runs.jsonl (record.schema.json), every manifest.json
(manifest.schema.json) and every compare.json (compare.schema.json) under results/reference*,
their subdirectories included. Then checks that records and manifests broken on purpose are
rejected, so a schema that accepts anything fails here too.

Exit 0 when all of it holds, 1 when something does not (each problem on its own line), 77 (a
skip for ctest) when python3-jsonschema is not installed.
"""
import copy
import json
import pathlib
import sys

try:
    import jsonschema
except ImportError:
    print("SKIP: python3-jsonschema missing (apt-get install python3-jsonschema; "
          "scripts/install-deps.sh installs it)")
    sys.exit(77)

# What each schema checks, by file name.
SCHEMAS = {
    "runs.jsonl": "record.schema.json",
    "manifest.json": "manifest.schema.json",
    "compare.json": "compare.schema.json",
}


def validator(schema_dir, name):
    schema = json.loads((schema_dir / name).read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def first_error(v, instance):
    """The most relevant problem with instance, as one line; None when it is valid."""
    error = jsonschema.exceptions.best_match(v.iter_errors(instance))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    return f"{where}: {error.message[:300]}"


def documents(top):
    """(path, line number or None, parsed JSON, schema file) for every checked document."""
    for results in sorted(top.glob("results/reference*")):
        for path in sorted(results.rglob("*")):
            schema = SCHEMAS.get(path.name)
            if schema is None or not path.is_file():
                continue
            if path.name != "runs.jsonl":
                yield path, None, json.loads(path.read_text()), schema
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if line.strip():
                    yield path, n, json.loads(line), schema


def check_committed(top, validators):
    problems, counts = [], {name: 0 for name in SCHEMAS.values()}
    for path, line, doc, schema in documents(top):
        counts[schema] += 1
        error = first_error(validators[schema], doc)
        if error:
            at = f"{path.relative_to(top)}" + (f":{line}" if line else "")
            problems.append(f"{at}: {error}")
    return problems, counts


def edited(name, doc, edit):
    """(name, a copy of doc with edit applied): one broken document."""
    copied = copy.deepcopy(doc)
    edit(copied)
    return name, copied


def broken_records(record):
    """Records memplace's reader refuses (harness/src/results/results.cc), each with its name."""
    def changed(name, edit):
        return edited(name, record, edit)

    return [
        changed("no policy", lambda r: r.pop("policy")),
        changed("unknown status", lambda r: r.update(status="bogus")),
        changed("size as text", lambda r: r.update(size_bytes="64MiB")),
        changed("newer schema_version", lambda r: r.update(schema_version=3)),
        changed("share above 1", lambda r: r["verdict"]["measured"].update({"0": 1.5})),
        changed("node key not a node", lambda r: r.update(placement_pages={"zero": 16384})),
        changed("page count beyond 2^50", lambda r: r.update(pages_absent=2**51)),
        changed("negative repeat", lambda r: r.update(repeat=-1)),
        changed("samples outside samples/", lambda r: r.update(samples_file="../../etc/passwd")),
        changed("source with no reading", lambda r: r.update(placement_sources={"trace": {}})),
        changed("undocumented field", lambda r: r.update(surprise=1)),
    ]


def broken_manifests(manifest):
    def changed(name, edit):
        return edited(name, manifest, edit)

    return [
        changed("no schema_version", lambda m: m.pop("schema_version")),
        changed("unknown status", lambda m: m.update(status="finished")),
        changed("unknown kind", lambda m: m.update(kind="cluster")),
        changed("summary without not_honored", lambda m: m["summary"].pop("not_honored")),
        changed("testbed without its kernel", lambda m: m.pop("kernel")),
    ]


def check_rejected(top, validators):
    """Each broken document must fail; returns the ones the schemas let through."""
    sample = next(top.glob("results/reference/*/runs.jsonl"))
    record = json.loads(sample.read_text().splitlines()[0])
    manifest = json.loads((sample.parent / "manifest.json").read_text())
    accepted = []
    for kind, schema, cases in (("record", "record.schema.json", broken_records(record)),
                                ("manifest", "manifest.schema.json", broken_manifests(manifest))):
        for name, doc in cases:
            if first_error(validators[schema], doc) is None:
                accepted.append(f"a broken {kind} was accepted: {name}")
    return accepted, len(broken_records(record)) + len(broken_manifests(manifest))


def main():
    top = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2])
    schema_dir = top / "docs" / "schema"
    validators = {name: validator(schema_dir, name) for name in SCHEMAS.values()}
    problems, counts = check_committed(top, validators)
    accepted, broken = check_rejected(top, validators)
    for line in problems + accepted:
        print(line)
    if counts["record.schema.json"] == 0 or counts["manifest.schema.json"] == 0:
        problems.append("no records or manifests found under results/reference*")
        print(problems[-1])
    if problems or accepted:
        print(f"FAIL: {len(problems)} invalid document(s), {len(accepted)} broken one(s) accepted")
        return 1
    print(f"ok: {counts['record.schema.json']} records, {counts['manifest.schema.json']} "
          f"manifests and {counts['compare.schema.json']} compare.json match docs/schema/; "
          f"all {broken} broken documents rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
