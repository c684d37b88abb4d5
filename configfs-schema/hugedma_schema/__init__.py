# SPDX-License-Identifier: GPL-2.0
"""hugedma's ABI schema (configfs-schema/hugedma.json): loading, validation,
and the ABI documents and hugedma(7) generated from it.  configfs-schema/gen-abi
is the command; see configfs-schema/README.md.  Standard library only."""
import pathlib

# the tree's top: the schema's ioctls.header is relative to it
TOP = pathlib.Path(__file__).resolve().parent.parent.parent
