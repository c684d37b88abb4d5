# SPDX-License-Identifier: GPL-2.0
"""Validate configfs-schema/hugedma.json and generate hugedma's ABI documents.

  gen-abi            validate the schema (its ioctls against the uapi header),
                     then write one Documentation/ABI-style file per entry of
                     its "documents", and one for its "device_nodes", into
                     configfs-schema/ABI/, and the man page hugedma(7) to
                     configfs-schema/hugedma.7
  gen-abi --check    validate the schema and regenerate the documents in memory;
                     exit 1, with the problems or a diff, if the schema is invalid,
                     a checked-in document or the man page differs from what it
                     generates, or configfs-schema/ABI/ holds a file that is no
                     document

Standard library only.  See configfs-schema/README.md for the schema's format.
"""
import argparse
import difflib
import pathlib
import sys

from .facts import build
from .load import load
from .render_abi import render
from .render_man import render_man
from .validate import validate

HERE = pathlib.Path(__file__).resolve().parent.parent
SCHEMA = HERE / "hugedma.json"
OUTDIR = HERE / "ABI"
MANPAGE = HERE / "hugedma.7"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if the schema is invalid or a document is stale")
    ap.add_argument("--schema", type=pathlib.Path, default=SCHEMA, help="default: %(default)s")
    ap.add_argument("--outdir", type=pathlib.Path, default=OUTDIR, help="default: %(default)s")
    ap.add_argument("--man", type=pathlib.Path, default=MANPAGE,
                    help="hugedma(7), default: %(default)s")
    args = ap.parse_args()

    try:
        schema = load(args.schema)
    except (OSError, ValueError) as err:
        sys.exit(f"gen-abi: {args.schema}: {err}")
    problems, uapi = validate(schema)
    if problems:
        for p in problems:
            print(f"gen-abi: {args.schema.name}: {p}", file=sys.stderr)
        print(f"gen-abi: {len(problems)} problem(s) in {args.schema}", file=sys.stderr)
        return 1
    model = build(schema, uapi)

    stale = 0
    strays = sorted(set(p.name for p in args.outdir.iterdir()) - set(model.names)) \
        if args.outdir.is_dir() else []
    for stray in strays:
        print(f"gen-abi: {args.outdir / stray} is no document of {args.schema.name}; "
              "remove it", file=sys.stderr)
    outputs = [(args.outdir / name, text) for name, text in render(model)]
    outputs.append((args.man, render_man(model)))
    for path, text in outputs:
        try:
            old = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            old = None
        if old == text:
            continue
        if args.check:
            stale += 1
            sys.stdout.writelines(difflib.unified_diff(
                (old or "").splitlines(keepends=True), text.splitlines(keepends=True),
                f"{path} (checked in)", f"{path} (from {args.schema.name})"))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"gen-abi: wrote {path}")
    if stale:
        print(f"gen-abi: {stale} document(s) out of date with {args.schema} (or with "
              f"{model.ioctls.header}); run make docs",
              file=sys.stderr)
    return 1 if stale or strays else 0
